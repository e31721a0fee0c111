//! The rustls client configuration (feature `rustls`): the webpki root certificates plus the
//! extra roots of the options, or the application's own configuration.

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

/// A certificate that [`crate::Options::add_root_certificate`] or
/// [`crate::Options::add_root_certificates_pem`] could not use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid root certificate: {0}")]
pub struct InvalidCertificate(pub(crate) String);

/// A configuration trusting `roots`, with the ring provider and its safe defaults.
pub(crate) fn config_with_roots(roots: RootCertStore) -> ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    match ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions() {
        Ok(builder) => builder.with_root_certificates(roots).with_no_client_auth(),
        // ring supports TLS 1.2 and 1.3, the safe defaults.
        Err(e) => unreachable!("ring provider without the default TLS versions: {e}"),
    }
}

/// The configuration for `https`/`wss`: the application's own, or the webpki roots plus
/// `extra` roots.
pub(crate) fn client_config(
    custom: Option<&Arc<ClientConfig>>,
    extra: &[CertificateDer<'static>],
) -> Arc<ClientConfig> {
    if let Some(c) = custom {
        return c.clone();
    }
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    // Each extra root was checked when it was added to the options.
    let _ = roots.add_parsable_certificates(extra.iter().cloned());
    Arc::new(config_with_roots(roots))
}

/// Checks that `der` is a certificate rustls accepts as a root.
pub(crate) fn check_root(der: &CertificateDer<'static>) -> Result<(), InvalidCertificate> {
    RootCertStore::empty()
        .add(der.clone())
        .map_err(|e| InvalidCertificate(e.to_string()))
}

/// The certificates of a PEM bundle.
pub(crate) fn parse_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, InvalidCertificate> {
    use rustls::pki_types::pem::PemObject;
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| InvalidCertificate(e.to_string()))?;
    if certs.is_empty() {
        return Err(InvalidCertificate("no CERTIFICATE in the PEM data".into()));
    }
    Ok(certs)
}
