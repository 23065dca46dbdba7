//! `qa-agent tls`: checks a certificate pair with the services' own loader before it is
//! installed, and reads the certificate a service serves, so a renewal can be verified.

use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::Context;
use qa_server::tls::{CertificateInfo, check_pair, client_builder, describe};

use crate::args::TlsCommand;

pub fn run(command: TlsCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match command {
        TlsCommand::Check {
            cert,
            key,
            min_days,
            json,
        } => {
            let read = |p: &std::path::Path| {
                std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))
            };
            let (cert_pem, key_pem) = (read(&cert)?, read(&key)?);
            let info = match runtime.block_on(check_pair(&cert_pem, &key_pem)) {
                Ok(info) => info,
                Err(e) => {
                    eprintln!("error: {} with {}: {e}", cert.display(), key.display());
                    return Ok(ExitCode::from(1));
                }
            };
            let days = info.days_left(SystemTime::now());
            print(&info, days, json)?;
            if days < min_days {
                eprintln!(
                    "error: the certificate is valid for {days} more days, fewer than --min-days {min_days}"
                );
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
        TlsCommand::Served { url, cacert, json } => {
            // The client's connection pool needs the runtime at build time.
            let _runtime = runtime.enter();
            let http = client_builder(cacert.as_deref())?
                .tls_info(true)
                .timeout(std::time::Duration::from_secs(10))
                .build()?;
            let health = format!("{}/health/live", url.trim_end_matches('/'));
            let response = match runtime.block_on(http.get(&health).send()) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {health}: {e:#}");
                    return Ok(ExitCode::from(1));
                }
            };
            let Some(der) = response
                .extensions()
                .get::<reqwest::tls::TlsInfo>()
                .and_then(|t| t.peer_certificate())
            else {
                eprintln!("error: {url} did not present a certificate (is it https://?)");
                return Ok(ExitCode::from(1));
            };
            let info = describe(der)?;
            print(&info, info.days_left(SystemTime::now()), json)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print(info: &CertificateInfo, days: i64, json: bool) -> anyhow::Result<()> {
    if json {
        let mut v = serde_json::to_value(info)?;
        v["days_left"] = days.into();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("subject   {}", info.subject);
        println!("sha256    {}", info.sha256);
        println!("expires   {} ({days} days left)", info.expires);
    }
    Ok(())
}
