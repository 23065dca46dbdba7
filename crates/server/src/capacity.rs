//! `qa-agent capacity` and `qa-agent baseline`: what each service does over an interval
//! (two scrapes of `/metrics`): traffic, errors, latency quantiles, CPU and memory
//! against their limits, the database pool, the reasoning queue. Capacity turns it into
//! headroom and advice; a baseline is the same measurement kept as JSON, compared with
//! the previous one to flag regressions after a release.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ServiceKind;
use crate::doctor::Target;
use crate::scrape::{Scrape, server_error};

/// One service over the interval.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ServiceLoad {
    pub requests_per_second: f64,
    /// Share of the interval's requests answered 5xx (`None`: no requests).
    pub error_share: Option<f64>,
    /// Request latency quantiles over the interval, in seconds.
    pub latency_p50: Option<f64>,
    pub latency_p95: Option<f64>,
    pub cpu_cores: Option<f64>,
    pub cpu_limit_cores: Option<f64>,
    pub memory_bytes: Option<f64>,
    pub memory_limit_bytes: Option<f64>,
    pub db_connections_in_use: Option<f64>,
    pub db_connections_max: Option<f64>,
    /// Orchestrator: answers in the interval and their time quantiles (seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answers: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_p50: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_p95: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_queue: Option<f64>,
    /// Specialists: p95 seconds per tool.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tool_p95: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Measurement {
    /// Unix seconds at the end of the interval.
    pub at: i64,
    pub interval_seconds: f64,
    pub qa_agent_version: String,
    pub services: BTreeMap<String, ServiceLoad>,
    /// Services that did not answer.
    pub unreachable: Vec<String>,
}

async fn scrape(http: &reqwest::Client, base: &str) -> Option<Scrape> {
    let r = http.get(format!("{base}/metrics")).send().await.ok()?;
    r.status().is_success().then_some(())?;
    Some(Scrape::parse(&r.text().await.ok()?))
}

/// Scrapes every service, waits `interval`, scrapes again, and measures.
pub async fn measure(target: &Target, interval: Duration) -> Measurement {
    let http = target.client().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "using the system's roots only");
        reqwest::Client::new()
    });
    let mut first = BTreeMap::new();
    for (kind, base) in &target.services {
        first.insert(*kind, scrape(&http, base).await);
    }
    let started = std::time::Instant::now();
    tokio::time::sleep(interval).await;
    let mut services = BTreeMap::new();
    let mut unreachable = Vec::new();
    for (kind, base) in &target.services {
        let (Some(Some(a)), Some(b)) = (first.get(kind), scrape(&http, base).await) else {
            unreachable.push(kind.name().to_string());
            continue;
        };
        let dt = started.elapsed().as_secs_f64().max(0.001);
        services.insert(kind.name().to_string(), load(*kind, a, &b, dt));
    }
    Measurement {
        at: qa_store::now_ms() / 1000,
        interval_seconds: started.elapsed().as_secs_f64(),
        qa_agent_version: env!("CARGO_PKG_VERSION").into(),
        services,
        unreachable,
    }
}

fn load(kind: ServiceKind, before: &Scrape, now: &Scrape, dt: f64) -> ServiceLoad {
    let d = now.since(before);
    let requests = d.sum("http_requests_total").unwrap_or(0.0);
    let errors = d.sum_where("http_requests_total", server_error);
    let in_use = now.sum_where("db_pool_connections", |s| {
        s.label("state") == Some("in_use")
    });
    let mut l = ServiceLoad {
        requests_per_second: requests / dt,
        error_share: (requests > 0.0).then(|| errors / requests),
        latency_p50: d.quantile(0.5, "http_request_duration_seconds"),
        latency_p95: d.quantile(0.95, "http_request_duration_seconds"),
        cpu_cores: d.sum("process_cpu_seconds_total").map(|c| c / dt),
        cpu_limit_cores: now.sum("process_cpu_limit_cores"),
        memory_bytes: now.sum("memory_usage_bytes"),
        memory_limit_bytes: now.sum("process_memory_limit_bytes"),
        db_connections_in_use: now.sum("db_pool_connections").map(|_| in_use),
        db_connections_max: now.sum("db_pool_max_connections"),
        ..Default::default()
    };
    if kind == ServiceKind::Orchestrator {
        l.answers = d.sum("agent_response_time_seconds_count");
        l.answer_p50 = d.quantile(0.5, "agent_response_time_seconds");
        l.answer_p95 = d.quantile(0.95, "agent_response_time_seconds");
        l.reasoning_queue = now.sum("reasoning_queue_length");
    }
    if kind == ServiceKind::Specialists {
        let tools: std::collections::BTreeSet<&str> = d
            .named("tool_execution_duration_seconds_count")
            .filter(|s| s.value > 0.0)
            .filter_map(|s| s.label("tool"))
            .collect();
        for tool in tools {
            let only = d.only(|s| s.label("tool") == Some(tool));
            if let Some(p95) = only.quantile(0.95, "tool_execution_duration_seconds") {
                l.tool_p95.insert(tool.to_string(), p95);
            }
        }
    }
    l
}

/// One piece of capacity advice.
#[derive(Debug, Clone, Serialize)]
pub struct Advice {
    pub service: String,
    pub resource: String,
    /// Used share of the limit, in [0, 1+].
    pub utilisation: f64,
    pub advice: String,
}

/// Headroom per service and resource, with what to do where it runs short. The
/// thresholds are the HPA's CPU target (70%) and the runbook's 80% memory and pool marks.
pub fn advise(m: &Measurement) -> Vec<Advice> {
    let mut out = Vec::new();
    for (name, l) in &m.services {
        let mut push = |resource: &str, utilisation: f64, advice: String| {
            out.push(Advice {
                service: name.clone(),
                resource: resource.into(),
                utilisation,
                advice,
            })
        };
        if let (Some(used), Some(limit)) = (l.cpu_cores, l.cpu_limit_cores)
            && limit > 0.0
        {
            let u = used / limit;
            let advice = if u > 0.7 {
                format!(
                    "above the HPA target (70%): add replicas (kubectl scale deployment {name} --replicas=N) or raise its CPU limit"
                )
            } else {
                format!("{:.0}% headroom", (1.0 - u) * 100.0)
            };
            push("cpu", u, advice);
        }
        if let (Some(used), Some(limit)) = (l.memory_bytes, l.memory_limit_bytes)
            && limit > 0.0
        {
            let u = used / limit;
            let advice = if u > 0.8 {
                "above 80% of the limit: raise the memory limit before it reaches 90% (P1)"
                    .to_string()
            } else {
                format!("{:.0} MiB free", (limit - used) / (1 << 20) as f64)
            };
            push("memory", u, advice);
        }
        if let (Some(used), Some(max)) = (l.db_connections_in_use, l.db_connections_max)
            && max > 0.0
        {
            let u = used / max;
            let advice = if u > 0.8 {
                "the database pool is nearly exhausted: raise DB_POOL_SIZE (and PostgreSQL's max_connections)".to_string()
            } else {
                format!("{used:.0} of {max:.0} connections in use")
            };
            push("db_pool", u, advice);
        }
        if let Some(q) = l.reasoning_queue.filter(|q| *q > 0.0) {
            push(
                "reasoning_queue",
                q,
                format!(
                    "{q:.0} questions waiting: add orchestrator replicas or raise QA_AGENT_REASONING_CONCURRENCY"
                ),
            );
        }
    }
    out
}

/// A latency or memory figure that got worse than the baseline by more than 20% (and
/// by more than 50 ms or 32 MiB, so noise on tiny numbers does not count).
#[derive(Debug, Clone, Serialize)]
pub struct Regression {
    pub service: String,
    pub metric: String,
    pub baseline: f64,
    pub now: f64,
}

pub fn regressions(baseline: &Measurement, now: &Measurement) -> Vec<Regression> {
    let mut out = Vec::new();
    for (name, n) in &now.services {
        let Some(b) = baseline.services.get(name) else {
            continue;
        };
        let mut cmp = |metric: &str, old: Option<f64>, new: Option<f64>, floor: f64| {
            if let (Some(old), Some(new)) = (old, new)
                && new > old * 1.2
                && new - old > floor
            {
                out.push(Regression {
                    service: name.clone(),
                    metric: metric.into(),
                    baseline: old,
                    now: new,
                });
            }
        };
        cmp("latency_p95_seconds", b.latency_p95, n.latency_p95, 0.05);
        cmp("latency_p50_seconds", b.latency_p50, n.latency_p50, 0.05);
        cmp("answer_p95_seconds", b.answer_p95, n.answer_p95, 0.05);
        cmp(
            "memory_bytes",
            b.memory_bytes,
            n.memory_bytes,
            32.0 * (1 << 20) as f64,
        );
        for (tool, p95) in &n.tool_p95 {
            cmp(
                &format!("tool_p95_seconds:{tool}"),
                b.tool_p95.get(tool).copied(),
                Some(*p95),
                0.05,
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape(text: &str) -> Scrape {
        Scrape::parse(text)
    }

    #[test]
    fn load_is_measured_over_the_interval_not_since_start() {
        let before = scrape(
            "http_requests_total{status=\"200\"} 100\nhttp_requests_total{status=\"500\"} 0\n\
             http_request_duration_seconds_bucket{le=\"0.1\"} 100\nhttp_request_duration_seconds_bucket{le=\"1\"} 100\nhttp_request_duration_seconds_bucket{le=\"+Inf\"} 100\n\
             process_cpu_seconds_total 50\n",
        );
        let now = scrape(
            "http_requests_total{status=\"200\"} 130\nhttp_requests_total{status=\"500\"} 10\n\
             http_request_duration_seconds_bucket{le=\"0.1\"} 100\nhttp_request_duration_seconds_bucket{le=\"1\"} 140\nhttp_request_duration_seconds_bucket{le=\"+Inf\"} 140\n\
             process_cpu_seconds_total 55\nprocess_cpu_limit_cores 2\nmemory_usage_bytes 900\nprocess_memory_limit_bytes 1000\n",
        );
        let l = load(ServiceKind::Specialists, &before, &now, 10.0);
        assert_eq!(l.requests_per_second, 4.0);
        assert_eq!(l.error_share, Some(0.25));
        // All 40 requests of the interval took 0.1-1 s, whatever came before.
        assert!(l.latency_p50.unwrap() > 0.1, "{l:?}");
        assert_eq!(l.cpu_cores, Some(0.5));
        let m = Measurement {
            at: 0,
            interval_seconds: 10.0,
            qa_agent_version: "x".into(),
            services: BTreeMap::from([("specialist-agents".to_string(), l.clone())]),
            unreachable: Vec::new(),
        };
        let advice = advise(&m);
        let mem = advice.iter().find(|a| a.resource == "memory").unwrap();
        assert!(mem.advice.contains("raise the memory limit"), "{mem:?}");
        let cpu = advice.iter().find(|a| a.resource == "cpu").unwrap();
        assert!(cpu.advice.contains("headroom"), "{cpu:?}");

        let mut slower = m.clone();
        slower
            .services
            .get_mut("specialist-agents")
            .unwrap()
            .latency_p95 = Some(5.0);
        let r = regressions(&m, &slower);
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0].metric, "latency_p95_seconds");
        assert!(regressions(&m, &m).is_empty());
    }
}
