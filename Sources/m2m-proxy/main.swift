import M2MProxy
print(M2MProxyVersion.string)
