//! A fresh certificate authority and a server certificate for 127.0.0.1 per
//! instance, so that clients verify the server exactly as against a real
//! cluster (the CA goes into the kubeconfig), and nothing is shared between
//! instances.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Failure to make certificates or the TLS configuration.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot generate certificates: {0}")]
    Cert(#[from] rcgen::Error),
    #[error("cannot build the TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The CA (PEM, for the kubeconfig) and the server's rustls configuration.
pub struct Tls {
    pub ca_pem: String,
    pub config: Arc<ServerConfig>,
    /// What [`from_parts`] needs to rebuild it (kept with `--state`).
    pub parts: Parts,
}

/// The CA certificate and the server's certificate and key, DER.
#[derive(Debug, Clone)]
pub struct Parts {
    pub ca_pem: String,
    pub ca: Vec<u8>,
    pub cert: Vec<u8>,
    pub key: Vec<u8>,
}

/// Rebuilds the configuration from saved parts.
pub fn from_parts(parts: Parts) -> Result<Tls, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![
                CertificateDer::from(parts.cert.clone()),
                CertificateDer::from(parts.ca.clone()),
            ],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(parts.key.clone())),
        )?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        ca_pem: parts.ca_pem.clone(),
        config: Arc::new(config),
        parts,
    })
}

/// Generates a CA and a server certificate for `127.0.0.1` and `localhost`.
pub fn generate() -> Result<Tls, TlsError> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "kubesim-ca");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let key = KeyPair::generate()?;
    let mut params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "kubesim");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, &issuer)?;

    from_parts(Parts {
        ca_pem: ca_cert.pem(),
        ca: ca_cert.der().to_vec(),
        cert: cert.der().to_vec(),
        key: key.serialize_der(),
    })
}
