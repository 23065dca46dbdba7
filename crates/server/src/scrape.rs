//! Reading the Prometheus text format that qa-agent's own services export: the
//! operations page, `qa-agent doctor` and `qa-agent capacity` all read `/metrics` this
//! way. Written here because the small parser crates split label values at `}` (our
//! `route` labels hold `{id}`) and the complete ones pull in a parser framework; only
//! name, labels and value are needed.

use std::collections::BTreeMap;

/// One sample of the text exposition format.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The samples of a scrape (comments, blank and unreadable lines left out).
pub fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(sample)
        .collect()
}

fn sample(line: &str) -> Option<Sample> {
    let end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let (name, mut rest) = line.split_at(end);
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        rest = inner;
        loop {
            rest = rest.trim_start_matches([' ', ',']);
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after) = rest.split_once("=\"")?;
            let mut value = String::new();
            let mut chars = after.char_indices();
            let close = loop {
                match chars.next()? {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        c => value.push(c),
                    },
                    (_, c) => value.push(c),
                }
            };
            labels.push((key.trim().to_string(), value));
            rest = &after[close + 1..];
        }
    }
    // Rust's float syntax takes the format's `+Inf`, `-Inf` and `NaN` as they are.
    let value = rest.split_whitespace().next()?.parse().ok()?;
    Some(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// Whether a sample's `status` label is a 5xx answer.
pub fn server_error(s: &Sample) -> bool {
    s.label("status")
        .and_then(|c| c.parse::<u16>().ok())
        .is_some_and(|c| c >= 500)
}

/// A series: its name and labels.
type SeriesKey<'a> = (&'a str, &'a [(String, String)]);

/// One scrape of `/metrics`, for sums, quantiles and the change between two scrapes.
#[derive(Debug, Default, Clone)]
pub struct Scrape {
    samples: Vec<Sample>,
}

impl Scrape {
    pub fn parse(text: &str) -> Scrape {
        Scrape {
            samples: samples(text),
        }
    }

    /// What counters and histograms gained since `earlier` (same series, this minus that;
    /// a series that went down was reset by a restart and counts whole).
    pub fn since(&self, earlier: &Scrape) -> Scrape {
        let before: BTreeMap<SeriesKey<'_>, f64> = earlier
            .samples
            .iter()
            .map(|s| ((s.name.as_str(), s.labels.as_slice()), s.value))
            .collect();
        self.map(|s| {
            let b = before
                .get(&(s.name.as_str(), s.labels.as_slice()))
                .copied()
                .unwrap_or(0.0);
            if s.value >= b { s.value - b } else { s.value }
        })
    }

    fn map(&self, value: impl Fn(&Sample) -> f64) -> Scrape {
        Scrape {
            samples: self
                .samples
                .iter()
                .map(|s| Sample {
                    value: value(s),
                    ..s.clone()
                })
                .collect(),
        }
    }

    /// Only the samples `keep` keeps.
    pub fn only(&self, keep: impl Fn(&Sample) -> bool) -> Scrape {
        Scrape {
            samples: self.samples.iter().filter(|s| keep(s)).cloned().collect(),
        }
    }

    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| s.name == name)
    }

    /// The sum over a family's series; `None` when it has none.
    pub fn sum(&self, name: &str) -> Option<f64> {
        let mut it = self.named(name).peekable();
        it.peek()?;
        Some(it.map(|s| s.value).sum())
    }

    /// The sum over the series of a family that `keep` keeps (0 without any).
    pub fn sum_where(&self, name: &str, keep: impl Fn(&Sample) -> bool) -> f64 {
        self.named(name).filter(|s| keep(s)).map(|s| s.value).sum()
    }

    /// The `q` quantile of a histogram, linear within its bucket (as Prometheus'
    /// `histogram_quantile`), over all its series.
    pub fn quantile(&self, q: f64, name: &str) -> Option<f64> {
        let mut buckets: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
        for s in self.named(&format!("{name}_bucket")) {
            let bound: f64 = s.label("le")?.parse().ok()?;
            buckets.entry(bound.to_bits()).or_insert((bound, 0.0)).1 += s.value;
        }
        let mut b: Vec<(f64, f64)> = buckets.into_values().collect();
        b.sort_by(|x, y| x.0.total_cmp(&y.0));
        let total = b.last()?.1;
        if total <= 0.0 {
            return None;
        }
        let rank = q * total;
        let (mut prev_bound, mut prev_count) = (0.0, 0.0);
        for (bound, count) in b {
            if count >= rank {
                if bound.is_infinite() {
                    return Some(prev_bound);
                }
                let span = count - prev_count;
                let within = if span > 0.0 {
                    (rank - prev_count) / span
                } else {
                    1.0
                };
                return Some(prev_bound + (bound - prev_bound) * within);
            }
            (prev_bound, prev_count) = (bound, count);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_may_hold_braces_quotes_and_escapes() {
        let s = sample(r#"http_requests_total{route="/a/{id}",detail="say \"hi\"\\n",status="200"} 7 1700000000"#)
            .unwrap();
        assert_eq!(s.name, "http_requests_total");
        assert_eq!(s.label("route"), Some("/a/{id}"));
        assert_eq!(s.label("detail"), Some("say \"hi\"\\n"));
        assert_eq!(s.value, 7.0);
        assert_eq!(sample("up 1").unwrap().labels, vec![]);
        assert_eq!(sample("broken{route=\"/x} 1"), None);
    }

    #[test]
    fn quantiles_come_from_cumulative_buckets() {
        let s = Scrape::parse(
            "x_bucket{le=\"1\"} 50\nx_bucket{le=\"10\"} 90\nx_bucket{le=\"30\"} 100\nx_bucket{le=\"+Inf\"} 100\n",
        );
        let p95 = s.quantile(0.95, "x").unwrap();
        assert!((p95 - 20.0).abs() < 1e-9, "{p95}");
        assert!((s.quantile(0.5, "x").unwrap() - 1.0).abs() < 1e-9);
        assert_eq!(Scrape::parse("").quantile(0.95, "x"), None);
    }
}
