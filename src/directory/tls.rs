//! TLS material for LDAPS and StartTLS: a certificate for the DC's names generated with
//! rcgen at start, or a certificate chain and key read from PEM files.

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

    fn build(
        certs: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        cert_pem: String,
    ) -> Result<Self, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            cert_pem,
        })
    }
}
