//! The certificate of the local management API: handlers build `https://{domainName}/{stage}` and call
//! `PostToConnection` there, unchanged, so the WebSocket port also speaks TLS. A CA made at start signs
//! a certificate for 127.0.0.1 and localhost; the handlers trust it through `AWS_CA_BUNDLE`, a file with
//! that CA and the system's roots (so calls to AWS itself still verify).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result};
use base64::Engine as _;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

pub struct LocalTls {
    pub acceptor: TlsAcceptor,
    /// The CA bundle handlers get as `AWS_CA_BUNDLE`.
    pub ca_bundle: PathBuf,
}

/// A fresh CA and server certificate, the bundle written under `folder`.
pub fn make(folder: &Path) -> Result<LocalTls> {
    let ca_key = KeyPair::generate().context("generating the local CA's key")?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.distinguished_name.push(DnType::CommonName, "deployer dev local CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_cert = ca_params.self_signed(&ca_key).context("signing the local CA")?;
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().context("generating the local server's key")?;
    let mut server_params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])?;
    server_params.distinguished_name.push(DnType::CommonName, "127.0.0.1");
    server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    server_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server_params.signed_by(&server_key, &issuer).context("signing the local certificate")?;

    let mut bundle = ca_cert.pem();
    for root in rustls_native_certs::load_native_certs().certs {
        bundle.push_str(&pem("CERTIFICATE", &root));
    }
    std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    // Absolute: the workers run in the backend folder.
    let ca_bundle =
        folder.canonicalize().with_context(|| format!("finding {}", folder.display()))?.join("ca-bundle.pem");
    std::fs::write(&ca_bundle, bundle).with_context(|| format!("writing {}", ca_bundle.display()))?;

    let chain = vec![CertificateDer::from(server_cert.der().to_vec()), CertificateDer::from(ca_cert.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the local certificate")?;
    Ok(LocalTls { acceptor: TlsAcceptor::from(Arc::new(config)), ca_bundle })
}

fn pem(label: &str, der: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = encoded.as_bytes().chunks(64).filter_map(|c| std::str::from_utf8(c).ok()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}
