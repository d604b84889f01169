/// m2m-proxy's library: everything but argument parsing lives here so tests can reach it.
public enum M2MProxyVersion {
    public static let string = "0.1.0"
}
