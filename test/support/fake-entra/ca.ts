// Test PKI for the fake Entra, made with the openssl CLI: a CA per test run, a server certificate
// for 127.0.0.1 / localhost signed by it, and self-signed client certificates for certificate
// credentials (AZURE_CLIENT_CERTIFICATE_PATH). Child processes trust the CA through
// NODE_EXTRA_CA_CERTS=<caCertPath>; TLS verification is never disabled.
import { execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface TestCa {
  dir: string;
  /** PEM file of the CA certificate: pass it as NODE_EXTRA_CA_CERTS. */
  caCertPath: string;
  caKeyPath: string;
  /** Server certificate (SAN IP:127.0.0.1, DNS:localhost) and its key, PEM files. */
  serverCertPath: string;
  serverKeyPath: string;
  /** PEM contents, for in-process use (e.g. `new https.Agent({ ca })`). */
  caCert: string;
  serverCert: string;
  serverKey: string;
}

export interface ClientCertificate {
  certPath: string;
  keyPath: string;
  /** cert + key in one PEM file, the shape AZURE_CLIENT_CERTIFICATE_PATH expects. */
  pemPath: string;
  certPem: string;
  keyPem: string;
  /** SHA-1 thumbprint, upper-case hex (what the Azure portal shows; msal's `thumbprint`). */
  thumbprint: string;
  /** SHA-256 thumbprint, upper-case hex (msal's `thumbprintSha256`). */
  thumbprintSha256: string;
}

const OPENSSL = existsSync("/usr/bin/openssl") ? "/usr/bin/openssl" : "openssl";

function openssl(args: string[], cwd: string): void {
  execFileSync(OPENSSL, args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/**
 * Creates (or reuses, when already present in `dir`) a CA and a server certificate for
 * 127.0.0.1 and localhost. EC P-256 keys: fast to make, accepted by Node's TLS.
 */
export function createTestCa(dir: string): TestCa {
  mkdirSync(dir, { recursive: true });
  const p = (f: string) => join(dir, f);
  if (!existsSync(p("server.crt"))) {
    writeFileSync(
      p("ca.cnf"),
      [
        "[req]",
        "distinguished_name = dn",
        "prompt = no",
        "[dn]",
        "CN = dirsync test CA",
        "[v3_ca]",
        "basicConstraints = critical, CA:TRUE",
        "keyUsage = critical, keyCertSign, cRLSign",
        "subjectKeyIdentifier = hash",
        "",
      ].join("\n"),
    );
    writeFileSync(
      p("server.ext"),
      [
        "basicConstraints = critical, CA:FALSE",
        "keyUsage = critical, digitalSignature, keyEncipherment",
        "extendedKeyUsage = serverAuth",
        "subjectAltName = IP:127.0.0.1, DNS:localhost",
        "subjectKeyIdentifier = hash",
        "authorityKeyIdentifier = keyid",
        "",
      ].join("\n"),
    );
    openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"], dir);
    openssl(
      ["req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "2", "-config", "ca.cnf", "-extensions", "v3_ca", "-out", "ca.crt"],
      dir,
    );
    openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "server.key"], dir);
    openssl(["req", "-new", "-key", "server.key", "-subj", "/CN=127.0.0.1", "-out", "server.csr"], dir);
    openssl(
      [
        "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-sha256", "-extfile", "server.ext", "-out", "server.crt",
      ],
      dir,
    );
  }
  return {
    dir,
    caCertPath: p("ca.crt"),
    caKeyPath: p("ca.key"),
    serverCertPath: p("server.crt"),
    serverKeyPath: p("server.key"),
    caCert: readFileSync(p("ca.crt"), "utf8"),
    serverCert: readFileSync(p("server.crt"), "utf8"),
    serverKey: readFileSync(p("server.key"), "utf8"),
  };
}

/**
 * A self-signed RSA certificate for an app registration's certificate credential. Register
 * `certPem` (or the thumbprint) on a fake app; hand `pemPath` to the client.
 */
export function createClientCertificate(dir: string, name = "client"): ClientCertificate {
  mkdirSync(dir, { recursive: true });
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  const pemPath = join(dir, `${name}.pem`);
  if (!existsSync(pemPath)) {
    openssl(
      [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.crt`,
        "-days", "2", "-subj", `/CN=dirsync ${name}`, "-sha256",
      ],
      dir,
    );
    writeFileSync(pemPath, readFileSync(certPath, "utf8") + readFileSync(keyPath, "utf8"), { mode: 0o600 });
  }
  const certPem = readFileSync(certPath, "utf8");
  const keyPem = readFileSync(keyPath, "utf8");
  const der = new X509Certificate(certPem).raw;
  return {
    certPath,
    keyPath,
    pemPath,
    certPem,
    keyPem,
    thumbprint: createHash("sha1").update(der).digest("hex").toUpperCase(),
    thumbprintSha256: createHash("sha256").update(der).digest("hex").toUpperCase(),
  };
}
