//! Tools that read the analysed tree: `function_source` and `search_code`. They read only
//! inside the directory the analysis was made from, and only its analysed files.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::analysis::done_analysis;
use super::{Evidence, Tool, ToolContext, ToolError, ToolFuture, ToolOutput, input, schema};

/// Files larger than this are not searched (the analysis skips them too).
const MAX_FILE: u64 = 2 << 20;

pub(super) async fn root_of(cx: &ToolContext, id: i64) -> Result<PathBuf, ToolError> {
    let location = cx
        .db
        .analysis_location(cx.tenant_id, id)
        .await?
        .ok_or_else(|| ToolError::NotFound(format!("analysis {id} does not exist")))?;
    // An analysis of one file has that file as its root (see `inside`).
    Ok(PathBuf::from(location))
}

/// `rel` under `root`, refusing anything that resolves outside it.
pub(super) fn inside(root: &Path, rel: &str) -> Result<PathBuf, ToolError> {
    let base = if root.is_file() {
        root.parent().unwrap_or(root)
    } else {
        root
    };
    let path = if root.is_file() {
        root.to_path_buf()
    } else {
        base.join(rel)
    };
    let canonical = path
        .canonicalize()
        .map_err(|_| ToolError::NotFound(format!("`{rel}` is no longer on disk")))?;
    let base = base
        .canonicalize()
        .map_err(|_| ToolError::NotFound("the analysed directory is no longer on disk".into()))?;
    if !canonical.starts_with(&base) {
        return Err(ToolError::Invalid(format!(
            "`{rel}` is outside the analysed tree"
        )));
    }
    Ok(canonical)
}

pub(super) async fn read(path: PathBuf) -> Result<String, ToolError> {
    tokio::task::spawn_blocking(move || {
        let meta = std::fs::metadata(&path).map_err(|e| ToolError::Fault(e.to_string()))?;
        if meta.len() > MAX_FILE {
            return Err(ToolError::Invalid(format!(
                "{} is larger than {MAX_FILE} bytes",
                path.display()
            )));
        }
        let bytes = std::fs::read(&path).map_err(|e| ToolError::Fault(e.to_string()))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    })
    .await
    .map_err(|e| ToolError::Fault(e.to_string()))?
}

pub struct FunctionSource;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SourceInput {
    analysis_id: i64,
    /// The function's name or qualified name (`Cart.total`).
    #[schemars(length(min = 1))]
    name: String,
    /// Only in this file (relative to the analysed root), to tell same-named functions apart.
    file: Option<String>,
}

impl Tool for FunctionSource {
    fn name(&self) -> &'static str {
        "function_source"
    }
    fn description(&self) -> &'static str {
        "The source of a function (or of each function of that name), with its file and lines"
    }
    fn input_schema(&self) -> Value {
        schema::<SourceInput>()
    }
    fn run<'a>(&'a self, cx: &'a ToolContext, v: Value) -> ToolFuture<'a> {
        Box::pin(async move {
            let i: SourceInput = input(v)?;
            let a = done_analysis(cx, i.analysis_id).await?;
            let root = root_of(cx, a.id).await?;
            let functions =
                super::analysis::functions_named(cx, a.id, i.name.trim(), i.file.as_deref())
                    .await?;
            let mut items = Vec::new();
            let mut evidence = Vec::new();
            for f in functions.iter().take(10) {
                let c = &f.component;
                let text = read(inside(&root, &c.path)?).await?;
                let (start, end) = (c.start_line.unwrap_or(1), c.end_line.unwrap_or(1));
                let source: Vec<&str> = text
                    .lines()
                    .skip((start - 1).max(0) as usize)
                    .take((end - start + 1).max(1) as usize)
                    .collect();
                evidence.push(Evidence {
                    file: c.path.clone(),
                    line: Some(start),
                    rule_id: None,
                    metric: None,
                    symbol: Some(c.name.clone()),
                    excerpt: None,
                    detail: source
                        .first()
                        .map_or_else(String::new, |l| l.trim().to_string()),
                });
                items.push(json!({
                    "name": c.name, "file": c.path, "start_line": start, "end_line": end,
                    "source": source.join("\n"),
                }));
            }
            Ok(ToolOutput {
                summary: format!(
                    "source of {} function(s) named `{}`",
                    items.len(),
                    i.name.trim()
                ),
                data: json!({ "analysis_id": a.id, "functions": items }),
                evidence,
            })
        })
    }
}

pub struct SearchCode;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SearchInput {
    analysis_id: i64,
    /// What to look for: part of a symbol's name, or text (a regular expression with
    /// `regex: true`).
    #[schemars(length(min = 1, max = 200))]
    query: String,
    /// `symbol` (functions and classes by name) or `text` (lines of the analysed files).
    kind: SearchKind,
    #[serde(default)]
    regex: bool,
    /// Symbols only: the name is exactly `query`, or its last part is (`Cart.total`
    /// for `total`), case-sensitively.
    #[serde(default)]
    exact: bool,
    /// At most this many matches (50; 1 to 500).
    #[schemars(range(min = 1, max = 500))]
    limit: Option<u32>,
}

#[derive(Deserialize, JsonSchema, Clone, Copy, PartialEq)]
#[serde(rename_all = "lowercase")]
enum SearchKind {
    Symbol,
    Text,
}

impl Tool for SearchCode {
    fn name(&self) -> &'static str {
        "search_code"
    }
    fn description(&self) -> &'static str {
        "Search an analysed repository: symbols (functions, classes) by name, or text in its files"
    }
    fn input_schema(&self) -> Value {
        schema::<SearchInput>()
    }
    fn run<'a>(&'a self, cx: &'a ToolContext, v: Value) -> ToolFuture<'a> {
        Box::pin(async move {
            let i: SearchInput = input(v)?;
            let a = done_analysis(cx, i.analysis_id).await?;
            let limit = i.limit.unwrap_or(50) as usize;
            let mut evidence = Vec::new();
            let mut items = Vec::new();
            if i.kind == SearchKind::Symbol {
                let needle = i.query.to_lowercase();
                let suffix = format!(".{}", i.query);
                let wanted = |name: &str| {
                    if i.exact {
                        name == i.query || name.ends_with(&suffix)
                    } else {
                        name.to_lowercase().contains(&needle)
                    }
                };
                let mut after = 0;
                'pages: loop {
                    let page = cx.db.components(a.id, None, None, after, 1000).await?;
                    let Some(last) = page.last().map(|c| c.id) else {
                        break;
                    };
                    for c in page {
                        let c = c.component;
                        if c.kind != "file" && wanted(&c.name) {
                            evidence.push(Evidence {
                                file: c.path.clone(),
                                line: c.start_line,
                                rule_id: None,
                                metric: None,
                                symbol: Some(c.name.clone()),
                                excerpt: None,
                                detail: format!("{} {}", c.kind, c.name),
                            });
                            items.push(json!({ "kind": c.kind, "name": c.name, "file": c.path, "line": c.start_line }));
                            if items.len() == limit {
                                break 'pages;
                            }
                        }
                    }
                    after = last;
                }
            } else {
                let pattern = if i.regex {
                    i.query.clone()
                } else {
                    regex::escape(&i.query)
                };
                let re = regex::RegexBuilder::new(&pattern)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| {
                        ToolError::Invalid(format!("not a valid regular expression: {e}"))
                    })?;
                let root = root_of(cx, a.id).await?;
                let files = cx
                    .db
                    .components(a.id, Some("file"), None, 0, 100_000)
                    .await?;
                'files: for f in files {
                    let path = f.component.path;
                    let Ok(abs) = inside(&root, &path) else {
                        continue;
                    };
                    let Ok(text) = read(abs).await else { continue };
                    for (n, line) in text.lines().enumerate() {
                        if re.is_match(line) {
                            let line_no = n as i64 + 1;
                            evidence.push(Evidence {
                                file: path.clone(),
                                line: Some(line_no),
                                rule_id: None,
                                metric: None,
                                symbol: None,
                                excerpt: Some(line.trim().chars().take(200).collect()),
                                detail: line.trim().chars().take(200).collect(),
                            });
                            items.push(
                                json!({ "file": path, "line": line_no, "text": line.trim() }),
                            );
                            if items.len() == limit {
                                break 'files;
                            }
                        }
                    }
                }
            }
            Ok(ToolOutput {
                summary: format!("{} match(es) for `{}`", items.len(), i.query),
                data: json!({ "analysis_id": a.id, "matches": items, "truncated": items.len() == limit }),
                evidence,
            })
        })
    }
}
