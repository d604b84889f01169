import Foundation
import Testing

/// deploy/compose/provision-m2m.sql against a real PostgreSQL (Debian's package) holding the part
/// of Logto 1.42.0's schema it touches (Tests/Fixtures/logto_schema_subset.sql, each table citing
/// Logto's file): it provisions, converges when its inputs change, reads the secret file with the
/// proxy's rule, and exits non-zero with a message when what the proxy needs is not there after
/// it ran. One cluster per test (initdb costs seconds), one database per scenario.
@Suite struct ProvisionSQLTests {
    static let sql = ComposeFileTests.path("deploy/compose/provision-m2m.sql")
    static let schema = ComposeFileTests.path("Tests/Fixtures/logto_schema_subset.sql")
    static let indicator = "https://api.demo.local"

    /// A fresh database with Logto's tables, and the provisioning SQL run on it as compose runs it.
    struct LogtoDatabase {
        let cluster: PostgresCluster
        let name = "logto_\(UUID().uuidString.prefix(8).lowercased())"

        init(_ cluster: PostgresCluster) throws {
            self.cluster = cluster
            try cluster.createDatabase(name, schemaPath: ProvisionSQLTests.schema)
        }

        /// Writes `secret` to a secret file and runs the provisioning SQL on it.
        func provision(appID: String = "m2mproxydemo", secret: [UInt8] = Array("demo-secret\n".utf8),
                       indicator: String = ProvisionSQLTests.indicator) throws -> ComposeFileTests.Outcome {
            let file = cluster.dir.file("secret-\(UUID().uuidString.prefix(6))")
            FileManager.default.createFile(atPath: file, contents: Data(secret))
            return try cluster.psql(name, ["-f", ProvisionSQLTests.sql], variables: [
                ("app_id", appID), ("app_secret_file", file), ("api_indicator", indicator),
            ])
        }

        func query(_ sql: String) throws -> String {
            let o = try cluster.psql(name, ["-A", "-t", "-c", sql])
            guard o.status == 0 else { throw HarnessError("\(sql): \(o.stderr)") }
            return o.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// The scopes the app's roles grant it on `indicator`, as Logto's token endpoint looks them up.
        func grantedScopes(_ appID: String, _ indicator: String = ProvisionSQLTests.indicator) throws -> String {
            try query("""
                SELECT string_agg(s.name, ' ' ORDER BY s.name) FROM applications_roles ar
                JOIN roles_scopes rs ON rs.role_id = ar.role_id JOIN scopes s ON s.id = rs.scope_id
                JOIN resources r ON r.id = s.resource_id
                WHERE ar.application_id = '\(appID)' AND r.indicator = '\(indicator)'
                """)
        }

        func secretHex(_ appID: String = "m2mproxydemo") throws -> String {
            try query("SELECT encode(convert_to(value, 'UTF8'), 'hex') FROM application_secrets WHERE application_id = '\(appID)'")
        }
    }

    @Test func provisionsIsIdempotentAndConverges() throws {
        let cluster = try PostgresCluster()
        let db = try LogtoDatabase(cluster)
        let first = try db.provision()
        #expect(first.status == 0, "stderr: \(first.stderr)")
        #expect(first.stdout.contains("m2mproxydemo") && first.stdout.contains("read:data write:data"), "\(first.stdout)")
        #expect(try db.grantedScopes("m2mproxydemo") == "read:data write:data")
        #expect(try db.query("SELECT type FROM applications WHERE id = 'm2mproxydemo'") == "MachineToMachine")

        // Again: nothing new.
        let counts = """
            SELECT (SELECT count(*) FROM applications) || ' ' || (SELECT count(*) FROM application_secrets) || ' '
                || (SELECT count(*) FROM applications_roles) || ' ' || (SELECT count(*) FROM roles_scopes)
            """
        let before = try db.query(counts)
        let again = try db.provision()
        #expect(again.status == 0, "stderr: \(again.stderr)")
        #expect(try db.query(counts) == before)
        // The secret never shows up in what the provisioner prints.
        #expect(!(again.stdout + again.stderr + first.stdout + first.stderr).contains("demo-secret"))

        // A rotated secret file is written over the old secret.
        #expect(try db.provision(secret: Array("rotated\n".utf8)).status == 0)
        #expect(try db.query("SELECT value FROM application_secrets WHERE application_id = 'm2mproxydemo'") == "rotated")

        // A changed indicator is written over the old one.
        let renamed = try db.provision(indicator: "https://api.renamed.local")
        #expect(renamed.status == 0, "stderr: \(renamed.stderr)")
        #expect(try db.query("SELECT indicator FROM resources WHERE id = 'demoapiresource'") == "https://api.renamed.local")
        #expect(try db.grantedScopes("m2mproxydemo", "https://api.renamed.local") == "read:data write:data")

        // Issue 16: a changed LOGTO_APP_ID used to create an app without a role and exit 0.
        let moved = try db.provision(appID: "newdemoapp", indicator: "https://api.renamed.local")
        #expect(moved.status == 0, "stderr: \(moved.stderr)")
        #expect(try db.grantedScopes("newdemoapp", "https://api.renamed.local") == "read:data write:data")
        #expect(try db.query("SELECT value FROM application_secrets WHERE application_id = 'newdemoapp'") == "demo-secret")
    }

    /// One rule for the provisioner and the proxy (ConfigFileReader.readSecretText, DESIGN.md §3):
    /// exactly one trailing "\n" or "\r\n" is removed. The old `$(cat FILE)` kept the "\r" of a
    /// CRLF file and removed both newlines of "s\n\n".
    @Test func secretFileIsReadLikeTheProxyReadsIt() throws {
        let db = try LogtoDatabase(try PostgresCluster())
        let cases = [
            ("s3cret\r\n", "s3cret"), ("s3cret\n", "s3cret"), ("s3cret", "s3cret"), ("s3cret\n\n", "s3cret\n"),
            ("s3cret\r", "s3cret\r"), (" s 3\n", " s 3"),
        ]
        for (file, stored) in cases {
            let o = try db.provision(secret: Array(file.utf8))
            #expect(o.status == 0, "stderr: \(o.stderr)")
            #expect(try db.secretHex() == stored.utf8.map { String(format: "%02x", $0) }.joined(), "file \(Array(file.utf8))")
        }
    }

    /// Each way the proxy's credential could end up useless: a non-zero exit, a message saying what
    /// is wrong, and nothing committed.
    @Test func failsLoudly() throws {
        let cluster = try PostgresCluster()

        // A scope grant that cannot be made: a row with the demo's id already grants something else.
        let grant = try LogtoDatabase(cluster)
        #expect(try grant.provision().status == 0)
        _ = try grant.query("""
            INSERT INTO roles (tenant_id, id, name, description, type) VALUES ('default', 'otherrole', 'other', 'other', 'MachineToMachine');
            UPDATE roles_scopes SET role_id = 'otherrole' WHERE id = 'demorolescopew';
            """)
        let noGrant = try grant.provision(appID: "secondapp")
        #expect(noGrant.status != 0)
        #expect(noGrant.stderr.contains("app secondapp is not granted write:data on \(Self.indicator)"), "stderr: \(noGrant.stderr)")
        #expect(try grant.query("SELECT count(*) FROM applications WHERE id = 'secondapp'") == "0", "nothing is committed")

        // The role cannot be assigned: the assignment row's id is taken by another app's other role.
        let role = try LogtoDatabase(cluster)
        _ = try role.query("""
            INSERT INTO roles (tenant_id, id, name, description, type) VALUES ('default', 'otherrole', 'other', 'other', 'MachineToMachine');
            INSERT INTO applications (tenant_id, id, name, secret, type, oidc_client_metadata) VALUES ('default', 'otherapp', 'o', 'x', 'MachineToMachine', '{}');
            INSERT INTO applications_roles (tenant_id, id, application_id, role_id) VALUES ('default', 'demoapprole', 'otherapp', 'otherrole');
            CREATE FUNCTION keep() RETURNS trigger AS $$ BEGIN RETURN NULL; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER keep BEFORE UPDATE ON applications_roles FOR EACH ROW EXECUTE FUNCTION keep();
            """)
        let noRole = try role.provision()
        #expect(noRole.status != 0)
        #expect(noRole.stderr.contains("app m2mproxydemo does not hold the MachineToMachine role demom2mrole"), "stderr: \(noRole.stderr)")

        // An existing app with the configured id that is not an M2M app (LOGTO_APP_ID hitting a
        // real app).
        let spa = try LogtoDatabase(cluster)
        _ = try spa.query("INSERT INTO applications (tenant_id, id, name, secret, type, oidc_client_metadata) VALUES ('default', 'webapp', 'web', 'x', 'SPA', '{}')")
        let notM2M = try spa.provision(appID: "webapp")
        #expect(notM2M.status != 0)
        #expect(notM2M.stderr.contains("app webapp is a SPA app, not MachineToMachine"), "stderr: \(notM2M.stderr)")

        // The indicator belongs to another API resource.
        let taken = try LogtoDatabase(cluster)
        _ = try taken.query("INSERT INTO resources (tenant_id, id, name, indicator) VALUES ('default', 'realapi', 'Real', '\(Self.indicator)')")
        let clash = try taken.provision()
        #expect(clash.status != 0)
        #expect(clash.stderr.contains("API indicator \(Self.indicator) already belongs to resource realapi"), "stderr: \(clash.stderr)")

        // Unreadable secret file, empty secret, missing variable.
        let inputs = try LogtoDatabase(cluster)
        let unreadable = try cluster.psql(inputs.name, ["-f", Self.sql], variables: [
            ("app_id", "m2mproxydemo"), ("app_secret_file", cluster.dir.file("absent")), ("api_indicator", Self.indicator),
        ])
        #expect(unreadable.status != 0)
        #expect(unreadable.stderr.contains("cannot read app_secret_file"), "stderr: \(unreadable.stderr)")
        let empty = try inputs.provision(secret: Array("\n".utf8))
        #expect(empty.status != 0)
        #expect(empty.stderr.contains("the app secret must be 1-64 characters"), "stderr: \(empty.stderr)")
        let noID = try cluster.psql(inputs.name, ["-f", Self.sql], variables: [("api_indicator", Self.indicator)])
        #expect(noID.status != 0)
        #expect(noID.stderr.contains("psql variable app_id is not set"), "stderr: \(noID.stderr)")
        #expect(try inputs.query("SELECT count(*) FROM applications") == "0")
    }
}
