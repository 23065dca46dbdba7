//! `qa-agent capacity`: load over an interval, headroom and advice
//! (`qa_server::capacity`), optionally kept as a baseline or compared with one.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use qa_server::capacity::{Measurement, advise, measure, regressions};

use crate::args::CapacityArgs;

pub fn run(args: CapacityArgs) -> anyhow::Result<ExitCode> {
    let target = super::doctor::target(&args.target);
    let baseline: Option<Measurement> = match &args.compare {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the baseline {}", path.display()))?;
            Some(serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is not a baseline `qa-agent capacity --save` wrote",
                    path.display()
                )
            })?)
        }
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let m = runtime.block_on(measure(&target, Duration::from_secs(args.interval)));
    let advice = advise(&m);
    let regressed = baseline
        .as_ref()
        .map(|b| regressions(b, &m))
        .unwrap_or_default();
    if let Some(path) = &args.save {
        std::fs::write(path, serde_json::to_string_pretty(&m)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "measurement": m, "advice": advice, "regressions": regressed,
            }))?
        );
    } else {
        println!(
            "load over {:.0} s (qa-agent {}):",
            m.interval_seconds, m.qa_agent_version
        );
        let f = |x: Option<f64>, scale: f64, unit: &str| {
            x.map_or("-".to_string(), |v| format!("{:.2}{unit}", v * scale))
        };
        for (name, l) in &m.services {
            println!(
                "  {name:22} {:7.2} req/s  errors {:>6}  p50 {:>8}  p95 {:>8}  cpu {:>6} of {:>5}  memory {:>9} of {:>9}",
                l.requests_per_second,
                f(l.error_share, 100.0, "%"),
                f(l.latency_p50, 1000.0, " ms"),
                f(l.latency_p95, 1000.0, " ms"),
                f(l.cpu_cores, 1.0, ""),
                f(l.cpu_limit_cores, 1.0, ""),
                f(l.memory_bytes, 1.0 / (1u64 << 20) as f64, " MiB"),
                f(l.memory_limit_bytes, 1.0 / (1u64 << 20) as f64, " MiB"),
            );
            if let Some(n) = l.answers {
                println!(
                    "  {:22} answers {n:.0}: p50 {}, p95 {}; {} waiting",
                    "",
                    f(l.answer_p50, 1.0, " s"),
                    f(l.answer_p95, 1.0, " s"),
                    l.reasoning_queue.unwrap_or(0.0)
                );
            }
        }
        for u in &m.unreachable {
            println!("  {u:22} did not answer");
        }
        println!("headroom:");
        for a in &advice {
            println!(
                "  {:22} {:16} {:5.1}%  {}",
                a.service,
                a.resource,
                a.utilisation * 100.0,
                a.advice
            );
        }
        if let Some(path) = &args.save {
            println!("baseline saved to {}", path.display());
        }
        if baseline.is_some() {
            if regressed.is_empty() {
                println!("no regression against the baseline");
            }
            for r in &regressed {
                println!(
                    "REGRESSION {} {}: {:.3} -> {:.3}",
                    r.service, r.metric, r.baseline, r.now
                );
            }
        }
    }
    Ok(if regressed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
