//! TLS for every listener and client of the crate, on rustls with the ring provider: server
//! material for LDAPS, StartTLS and HTTPS — a certificate generated with rcgen (self-signed,
//! or issued by a [`CertificateAuthority`] of our own, a lab's, that clients trust through
//! its `ca_file`), or a chain and key read from PEM files — and HTTPS clients that trust
//! the platform's roots or such a CA.

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("could not generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("could not read {path}: {source}")]
    Read {
        path: String,
        source: rustls_pki_types::pem::Error,
    },
    #[error("{0} holds no certificate")]
    NoCertificate(String),
    #[error("TLS configuration refused: {0}")]
    Config(#[from] rustls::Error),
    #[error("the certificate authority's key: {0}")]
    Key(String),
    #[error("HTTPS client: {0}")]
    Client(String),
}

/// A ready TLS acceptor and the certificate clients should trust.
#[derive(Clone)]
pub struct TlsMaterial {
    pub acceptor: TlsAcceptor,
    /// PEM of the server certificate (self-signed when generated).
    pub cert_pem: String,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsMaterial(..)")
    }
}

impl TlsMaterial {
    /// A self-signed certificate for `names` (e.g. `dc1.gntech.me`, `localhost`, `127.0.0.1`).
    pub fn generate(names: &[String]) -> Result<Self, TlsError> {
        let ck = rcgen::generate_simple_self_signed(names.to_vec())?;
        let cert_pem = ck.cert.pem();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
        Self::build(vec![ck.cert.der().clone()], key, cert_pem)
    }

    /// A certificate chain and private key from PEM files.
    pub fn from_files(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let read_err = |path: &Path| {
            let path = path.display().to_string();
            move |source| TlsError::Read { path, source }
        };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .map_err(read_err(cert))?
            .collect::<Result<_, _>>()
            .map_err(read_err(cert))?;
        if certs.is_empty() {
            return Err(TlsError::NoCertificate(cert.display().to_string()));
        }
        let key = PrivateKeyDer::from_pem_file(key).map_err(read_err(key))?;
        let cert_pem = std::fs::read_to_string(cert).unwrap_or_default();
        Self::build(certs, key, cert_pem)
    }

    /// A certificate chain and its private key, as PEM text.
    pub fn from_pem(chain_pem: &str, key_pem: &str) -> Result<Self, TlsError> {
        let read_err = |source| TlsError::Read {
            path: "PEM text".into(),
            source,
        };
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(chain_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(read_err)?;
        if certs.is_empty() {
            return Err(TlsError::NoCertificate("PEM text".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(read_err)?;
        Self::build(certs, key, chain_pem.to_string())
    }

    fn build(
        certs: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        cert_pem: String,
    ) -> Result<Self, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        // No TLS 1.3 session tickets: a ticket goes out after the client's Finished, at no
        // fixed point relative to its first request, and the fault proxy's latency counts
        // the server's answers (one per exchange), which must not depend on that race.
        config.send_tls13_tickets = 0;
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            cert_pem,
        })
    }
}

/// The common name of a lab's certificate authority.
const CA_NAME: &str = "writeback-sim lab CA";

/// A certificate authority of our own: its certificate, for clients to trust, and the key
/// that issues the listeners' certificates. A lab creates one with its state and keeps it.
#[derive(Clone)]
pub struct CertificateAuthority {
    cert_pem: String,
    key_pem: String,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CertificateAuthority(..)")
    }
}

impl CertificateAuthority {
    fn params() -> Result<rcgen::CertificateParams, TlsError> {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new())?;
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, CA_NAME);
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        Ok(p)
    }

    /// A new CA (ECDSA P-256), valid for years.
    pub fn generate() -> Result<Self, TlsError> {
        let key = rcgen::KeyPair::generate()?;
        let mut params = Self::params()?;
        params.not_before = rcgen::date_time_ymd(2024, 1, 1);
        params.not_after = rcgen::date_time_ymd(2049, 12, 31);
        let cert = params.self_signed(&key)?;
        Ok(Self {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// A CA kept as PEM (its certificate and PKCS#8 key).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Self {
        Self {
            cert_pem: cert_pem.to_string(),
            key_pem: key_pem.to_string(),
        }
    }

    /// The CA certificate clients trust (a lab's `ca_file`).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA's private key, to keep with a lab's state.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// Server material for `names` (host names and IP addresses), issued by this CA; the
    /// chain carries the CA certificate too.
    pub fn issue(&self, names: &[String]) -> Result<TlsMaterial, TlsError> {
        let ca_key =
            rcgen::KeyPair::from_pem(&self.key_pem).map_err(|e| TlsError::Key(e.to_string()))?;
        let issuer = rcgen::Issuer::new(Self::params()?, ca_key);
        let key = rcgen::KeyPair::generate()?;
        let mut params = rcgen::CertificateParams::new(names.to_vec())?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        if let Some(first) = names.first() {
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, first.as_str());
        }
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &issuer)?;
        let chain = format!("{}{}", cert.pem(), self.cert_pem);
        TlsMaterial::from_pem(&chain, &key.serialize_pem())
    }
}

/// An HTTPS (and HTTP) client on rustls with ring, trusting `extra_ca` (a lab's CA
/// certificate in PEM) when given, the platform's roots otherwise. Each client has its own
/// connection pool; the TLS configuration for a set of roots is built once per process.
pub fn http_client(extra_ca: Option<&str>) -> Result<reqwest::Client, TlsError> {
    http_client_builder(extra_ca)?
        .build()
        .map_err(|e| TlsError::Client(e.to_string()))
}

/// [`http_client`]'s builder, for a client that needs more (no redirects, say).
pub fn http_client_builder(extra_ca: Option<&str>) -> Result<reqwest::ClientBuilder, TlsError> {
    static CONFIGS: std::sync::Mutex<Vec<(Option<String>, rustls::ClientConfig)>> =
        std::sync::Mutex::new(Vec::new());
    // reqwest is built without a provider of its own: ring is the crate's, for every
    // client (an error only says one is installed already).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let key = extra_ca.map(str::to_string);
    let config = {
        let mut configs = CONFIGS.lock().unwrap_or_else(|e| e.into_inner());
        match configs.iter().find(|(k, _)| *k == key) {
            Some((_, c)) => c.clone(),
            None => {
                let c = client_config(extra_ca)?;
                configs.push((key, c.clone()));
                c
            }
        }
    };
    Ok(reqwest::Client::builder().tls_backend_preconfigured(config))
}

/// ring, offering TLS 1.3's AES-128-GCM with SHA-256 first (as browsers and Go do): ring
/// hashes SHA-256 with the CPU's SHA extensions and SHA-384 without, and every handshake's
/// key schedule and transcript go through the suite's hash. The server picks from the
/// client's list, so our clients' handshakes (LDAPS to the DC, HTTPS to Graph) get the
/// cheaper suite; what a server offers is unchanged.
fn client_provider() -> Arc<rustls::crypto::CryptoProvider> {
    static PROVIDER: std::sync::OnceLock<Arc<rustls::crypto::CryptoProvider>> =
        std::sync::OnceLock::new();
    PROVIDER
        .get_or_init(|| {
            let mut provider = rustls::crypto::ring::default_provider();
            let first = rustls::CipherSuite::TLS13_AES_128_GCM_SHA256;
            // Stable: the rest keep ring's order.
            provider.cipher_suites.sort_by_key(|s| s.suite() != first);
            Arc::new(provider)
        })
        .clone()
}

/// The rustls client configuration [`http_client`] uses (for LDAPS clients too).
pub fn client_config(extra_ca: Option<&str>) -> Result<rustls::ClientConfig, TlsError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let builder = rustls::ClientConfig::builder_with_provider(client_provider())
        .with_safe_default_protocol_versions()?;
    Ok(match extra_ca {
        Some(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let c = c.map_err(|source| TlsError::Read {
                    path: "the CA certificate".into(),
                    source,
                })?;
                roots.add(c)?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => builder.with_platform_verifier()?.with_no_client_auth(),
    })
}

/// LDAPS `settings` that take any server certificate (the embedded DC's own, a lab DC with
/// `--directory-insecure`); the handshake's signature is still checked against the
/// certificate presented. The TLS configuration is one for the process: ldap3, left to build
/// its own, does so for every connection and copies the platform's roots each time.
pub fn ldap_unverified(settings: ldap3::LdapConnSettings) -> ldap3::LdapConnSettings {
    settings.set_no_tls_verify(true).set_config(unverified())
}

/// [`ldap_unverified`]'s TLS configuration.
fn unverified() -> Arc<rustls::ClientConfig> {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        // The provider ldap3 used: ring, the only one compiled in.
        let provider = client_provider();
        let algorithms = provider.signature_verification_algorithms;
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|_| rustls::ClientConfig::builder());
        Arc::new(
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(algorithms)))
                .with_no_client_auth(),
        )
    });
    config.clone()
}

#[derive(Debug)]
struct AnyCertificate(rustls::crypto::WebPkiSupportedAlgorithms);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &rustls_pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_certificate_issued_by_our_ca_is_trusted_by_a_client_given_the_ca() {
        let ca = CertificateAuthority::generate().unwrap();
        let material = ca.issue(&["localhost".into(), "127.0.0.1".into()]).unwrap();
        assert!(material.cert_pem.contains(ca.cert_pem().trim()));
        // The same CA, read back from its PEM, issues certificates the same client trusts.
        let again = CertificateAuthority::from_pem(ca.cert_pem(), ca.key_pem());
        again.issue(&["localhost".into()]).unwrap();
        assert!(http_client(Some(ca.cert_pem())).is_ok());
        assert!(
            http_client(Some("not pem")).is_ok(),
            "no certificate: no extra root"
        );
    }

    #[tokio::test]
    async fn our_clients_and_a_server_of_ours_agree_on_aes_128_gcm_with_sha_256() {
        let ca = CertificateAuthority::generate().unwrap();
        let material = ca.issue(&["localhost".into()]).unwrap();
        let verified = Arc::new(client_config(Some(ca.cert_pem())).unwrap());
        let ldap = unverified();
        for config in [verified, ldap] {
            let (client_io, server_io) = tokio::io::duplex(64 * 1024);
            let acceptor = material.acceptor.clone();
            let server = tokio::spawn(async move { acceptor.accept(server_io).await });
            let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
            let client = tokio_rustls::TlsConnector::from(config)
                .connect(name, client_io)
                .await
                .unwrap();
            let server = server.await.unwrap().unwrap();
            for suite in [
                client.get_ref().1.negotiated_cipher_suite(),
                server.get_ref().1.negotiated_cipher_suite(),
            ] {
                assert_eq!(
                    suite.map(|s| s.suite()),
                    Some(rustls::CipherSuite::TLS13_AES_128_GCM_SHA256)
                );
            }
        }
        // The rest of ring's suites are still offered, in ring's order.
        let ring = rustls::crypto::ring::default_provider();
        let mut ours: Vec<_> = client_provider()
            .cipher_suites
            .iter()
            .map(|s| s.suite())
            .collect();
        assert_eq!(
            ours.remove(0),
            rustls::CipherSuite::TLS13_AES_128_GCM_SHA256
        );
        let theirs: Vec<_> = (ring.cipher_suites.iter().map(|s| s.suite()))
            .filter(|s| *s != rustls::CipherSuite::TLS13_AES_128_GCM_SHA256)
            .collect();
        assert_eq!(ours, theirs);
    }
}
