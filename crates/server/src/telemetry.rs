//! Logs and traces. Logs go to stderr and, with `QA_AGENT_LOG_DIR`, to daily files;
//! with `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans are exported over OTLP/HTTP (Jaeger
//! accepts it) and W3C `traceparent` headers carry one trace across the services of a
//! request: in through the HTTP middleware, out on peer calls, and through the job
//! queue inside the job's payload.

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::{LogFormat, ServerConfig};

/// Keeps the log file writer and the span exporter running; drop it when the process
/// ends, outside the async runtime (dropping flushes what is buffered).
pub struct LogGuard {
    _file: Option<tracing_appender::non_blocking::WorkerGuard>,
    traces: Option<SdkTracerProvider>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.traces.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("qa-agent: could not export the last traces: {e}");
        }
    }
}

/// Log lines on stderr and, with `log_dir`, in daily files `qa-agent.YYYY-MM-DD.log`
/// there (14 kept), as text or JSON; levels are written as `ERROR`, `WARN`, ... so
/// `grep ERROR` finds them. `RUST_LOG` sets the levels (default `info`). With
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (and the other standard `OTEL_*` variables), spans are
/// exported too.
pub fn init_logging(config: &ServerConfig) -> std::io::Result<LogGuard> {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt};
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (file, guard) = match &config.log_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            let appender = tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix("qa-agent")
                .filename_suffix("log")
                .max_log_files(14)
                .build(dir)
                .map_err(std::io::Error::other)?;
            let (writer, guard) = tracing_appender::non_blocking(appender);
            (Some(writer), Some(guard))
        }
        None => (None, None),
    };
    let writer = match file {
        Some(file) => BoxMakeWriter::new(std::io::stderr.and(file)),
        None => BoxMakeWriter::new(std::io::stderr),
    };
    let traces = tracer_provider()?;
    let otel = traces.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("qa-agent"))
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO)
    });
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(writer);
    let fmt = match config.log_format {
        LogFormat::Json => fmt.json().boxed(),
        LogFormat::Text => fmt.boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init();
    Ok(LogGuard {
        _file: guard,
        traces,
    })
}

use tracing_subscriber::Layer as _;

/// The OTLP/HTTP span exporter when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces-only
/// variant) is set. The batch processor runs on its own thread with a blocking client,
/// which works whatever runtime the caller is on.
fn tracer_provider() -> std::io::Result<Option<SdkTracerProvider>> {
    let configured = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|v| std::env::var(v).is_ok_and(|s| !s.is_empty()));
    if !configured {
        return Ok(None);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|e| std::io::Error::other(format!("OTEL_EXPORTER_OTLP_ENDPOINT: {e}")))?;
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "qa-agent".into());
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service)
                .build(),
        )
        .build();
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    Ok(Some(provider))
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// Makes `span` a child of the trace an incoming request carries (if any).
pub fn continue_trace(span: &tracing::Span, headers: &HeaderMap) {
    let parent =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)));
    let _ = span.set_parent(parent);
}

/// The current trace as headers for a call to another service.
pub fn trace_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    let cx = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut HeaderInjector(&mut headers))
    });
    headers
}

/// The current trace as a map, to travel inside a job's payload.
pub fn trace_map() -> HashMap<String, String> {
    let mut map = HashMap::new();
    let cx = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut map));
    map
}

/// Makes `span` a child of the trace stored by [`trace_map`].
pub fn continue_trace_from(span: &tracing::Span, map: &HashMap<String, String>) {
    let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(map));
    let _ = span.set_parent(parent);
}
