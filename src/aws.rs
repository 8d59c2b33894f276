//! AWS configuration: one `aws_config` load per run, so the credential chain, `AWS_PROFILE`,
//! `AWS_REGION` and `AWS_ENDPOINT_URL` behave as in the aws CLI.

use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_async::rt::sleep::{AsyncSleep, Sleep};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use deployer_steps::clock;
use deployer_steps::settings::parse_duration_seconds;
use deployer_steps::InputError;
use std::time::Duration;

use crate::pace::PacedClient;

/// The region the environment or profile selects, if any (for settings that name none).
pub async fn environment_region() -> Option<String> {
    RegionProviderChain::default_provider().region().await.map(|r| r.to_string())
}

/// The first retry's backoff: the SDK's own default unless `DEPLOYER_RETRY_BACKOFF_MS` says otherwise
/// (tests that inject faults on every third request keep their runs short with it).
fn retry_config(max_attempts: u32) -> RetryConfig {
    let config = RetryConfig::standard().with_max_attempts(max_attempts);
    match std::env::var("DEPLOYER_RETRY_BACKOFF_MS").ok().and_then(|v| v.parse::<u64>().ok()) {
        Some(ms) => config.with_initial_backoff(Duration::from_millis(ms)),
        None => config,
    }
}

/// The SDK's default HTTPS client (hyper 1, rustls with aws-lc, proxy settings from the environment).
fn https_client() -> SharedHttpClient {
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::AwsLc));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// The SDK's sleeps (retry back-off, waiters' polling) on deployer's clock, which tests speed up.
#[derive(Debug)]
struct ScaledSleep;

impl AsyncSleep for ScaledSleep {
    fn sleep(&self, duration: Duration) -> Sleep {
        Sleep::new(tokio::time::sleep(clock::scaled(duration)))
    }
}

/// Whether requests are paced to AWS's quotas: on AWS itself, not on a custom endpoint (an emulator has
/// other limits), unless `DEPLOYER_PACE=aws` asks for AWS's there too (the tests' strict proxy models them).
fn paced(endpoint_url: Option<&str>) -> bool {
    let custom = endpoint_url.is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some_and(|v| !v.is_empty());
    !custom || std::env::var("DEPLOYER_PACE").is_ok_and(|v| v == "aws")
}

/// How long AWS may keep deployer waiting. Every request: `connect` to open the connection, `read` from
/// sending the request (its upload included) to the answer's headers, and the same `read` for an answer's
/// body that stalls. Every operation, its retries and pacing waits included: `operation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub read: Duration,
    pub operation: Duration,
}

impl Timeouts {
    /// AWS answers in well under a second; 2 minutes leaves room for a 50 MB code upload at about
    /// 3 Mbit/s. The operation's 15 minutes covers the retries and the longest pacing queue (custom
    /// domains, one update per 30 s).
    const DEFAULT: Timeouts = Timeouts {
        connect: Duration::from_secs(5),
        read: Duration::from_secs(120),
        operation: Duration::from_secs(900),
    };

    /// The defaults, or `DEPLOYER_READ_TIMEOUT` and `DEPLOYER_OPERATION_TIMEOUT` (durations: 90, 90s, 5m).
    pub fn from_env() -> Result<Timeouts, InputError> {
        let read = |name: &str, default: Duration| match std::env::var(name) {
            Ok(text) => match parse_duration_seconds(&text) {
                Ok(0) => Err(InputError(format!("{name}=0: give a duration of at least one second, e.g. 2m"))),
                Ok(seconds) => Ok(Duration::from_secs(seconds)),
                Err(why) => Err(InputError(format!("{name}: {why}"))),
            },
            Err(_) => Ok(default),
        };
        Ok(Timeouts {
            read: read("DEPLOYER_READ_TIMEOUT", Self::DEFAULT.read)?,
            operation: read("DEPLOYER_OPERATION_TIMEOUT", Self::DEFAULT.operation)?,
            ..Self::DEFAULT
        })
    }

    /// The SDK's timeouts run on its sleep, which tests speed up (`ScaledSleep`): they are stretched by as
    /// much, so that they stay the durations given.
    fn config(&self) -> TimeoutConfig {
        let real = |d: Duration| d.div_f64(clock::time_scale());
        TimeoutConfig::builder()
            .connect_timeout(real(self.connect))
            .read_timeout(real(self.read))
            .operation_timeout(real(self.operation))
            .build()
    }
}

pub async fn load(region: &str, endpoint_url: Option<&str>, max_attempts: u32, timeouts: Timeouts) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        // Standard mode retries throttling and transient errors, timeouts included, with backoff.
        .retry_config(retry_config(max_attempts))
        .timeout_config(timeouts.config());
    // An answer whose body stops coming fails after the read timeout (the SDK's stalled-stream protection,
    // its grace period set to match).
    let stalled = StalledStreamProtectionConfig::enabled().grace_period(timeouts.read).download_enabled(true);
    if paced(endpoint_url) {
        // Paced to AWS's quotas, so that a deploy is rarely throttled (see `pace.rs`). The pacing waits
        // inside the HTTP connector, where the SDK's upload stall check counts the wait as a stalled body
        // (CreateDomainName waits 33 s), so uploads are left to the read timeout, which starts after it.
        loader = loader
            .http_client(PacedClient::new(https_client()))
            .stalled_stream_protection(stalled.upload_enabled(false).build());
    } else {
        // Set rather than left to the SDK's default, so that a service's client can wrap it (`null_members`).
        loader = loader.http_client(https_client()).stalled_stream_protection(stalled.upload_enabled(true).build());
    }
    if clock::time_scale() < 1.0 {
        loader = loader.sleep_impl(ScaledSleep);
    }
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}
