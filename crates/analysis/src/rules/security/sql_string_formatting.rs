//! SEC015: an SQL statement built with string formatting or concatenation is executed.

use std::sync::LazyLock;

use qa_core::Language;
use regex::Regex;
use tree_sitter::Node;

use crate::lang::{Call, Dialect};
use crate::rules::helpers::is_built_string;
use crate::rules::security::common::{
    as_call, assignments_before, declared_type, dynamic_parts, is_identifier, is_scalar_type,
    literal_text,
};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "SEC015",
    name: "sql-string-formatting",
    family: Security,
    severity: High,
    languages: &[Language::Python, Language::JavaScript, Language::TypeScript, Language::Go, Language::Java],
    title: "SQL built with string formatting or concatenation is executed",
    applies_to_tests: false,
    docs: r#"## What it does
Finds database calls whose query is an SQL statement built at run time from values:
an f-string, `%` or `.format()` formatting, a JavaScript template literal with
substitutions, `fmt.Sprintf`, `String.format` or concatenation with a variable, passed
directly or through a local variable assigned just before.

Execution calls: Python `execute`, `executemany`, `executescript`, Django `raw`/`RawSQL`,
SQLAlchemy `text`; JavaScript/TypeScript `query`, `execute`, `raw`, `$queryRawUnsafe`,
`$executeRawUnsafe`; Go `Query`, `QueryRow`, `Exec`, `Prepare` and their `Context`
variants; Java JDBC `executeQuery`, `executeUpdate`, `execute`, `addBatch`,
`prepareStatement`, `prepareCall`, JPA/Hibernate `createQuery`, `createNativeQuery`,
`createSQLQuery`, Spring `JdbcTemplate` queries.

Only strings whose literal parts look like SQL are reported, and values that cannot carry
SQL are allowed: numbers, `int(...)`/`len(...)`, constants in `UPPER_CASE`, identifiers
passed through a quoting function (`quote_name(...)`), and lists of placeholders
(`", ".join(["%s"] * n)`).

## Why is this bad?
A value pasted into SQL is parsed as SQL: a quote in a name or an id such as
`1 OR 1=1` changes what the statement does (read other users' rows, bypass a login,
drop tables). Escaping by hand misses cases (encodings, numeric contexts, `LIKE`
wildcards).

## How to fix
Keep the statement constant and pass values as parameters: `%s`/`?`/`$1`/`:name`
placeholders with a separate parameters argument (or `PreparedStatement` setters). For
identifiers that cannot be parameters (table or column names), check them against an
allow-list or quote them with the driver's identifier quoting.

## Example
```python
cursor.execute(f"SELECT * FROM users WHERE email = '{email}'")
```
Use instead:
```python
cursor.execute("SELECT * FROM users WHERE email = %s", (email,))
```
"#,
}

pub(crate) struct SqlStringFormatting;

static SQL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        concat!(
            r"(?is)\bselect\b.+\bfrom\b",
            r"|\binsert\s+(?:or\s+\w+\s+)?into\b",
            r"|\bupdate\b.+\bset\b",
            r"|\bdelete\s+from\b",
            r"|\b(?:create|drop|alter|truncate)\s+(?:temp(?:orary)?\s+)?(?:table|index|view|database|schema)\b",
            // `WHERE col = `, not GraphQL's `where: {...}` or English prose.
            r#"|\bwhere\s+[\w.`"\[\]]+\s*(?:=|<|>|!=|\blike\b|\bin\b|\bis\b|\bbetween\b)"#,
            r"|\bvalues\s*\(",
        ),
    )
    .expect("valid SQL pattern")
});

impl Rule for SqlStringFormatting {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        let Some(index) = query_index(call, cx) else {
            return;
        };
        let Some(query) = call
            .positional(index)
            .or_else(|| call.keyword("sql"))
            .or_else(|| call.keyword("query"))
            .or_else(|| call.keyword("statement"))
        else {
            return;
        };
        if is_unsafe_sql(cx, query) {
            cx.report(
                query,
                format!(
                    "SQL built from values is passed to `{}`; keep the statement constant and pass the values as query parameters",
                    call.name
                ),
            );
            return;
        }
        if !is_identifier(cx, query) {
            return;
        }
        let name = cx.text(query);
        let assigns = assignments_before(cx, call.node, name);
        let Some(last_plain) = assigns.iter().rposition(|a| a.operator.is_none()) else {
            return;
        };
        let initial = &assigns[last_plain];
        let Some(init_value) = initial.value else {
            return;
        };
        let built_at = if is_unsafe_sql(cx, init_value) {
            Some(initial.node)
        } else if SQL.is_match(&literal_text(cx, init_value)) {
            // `sql = "SELECT ..."; sql += " WHERE id = " + str(id)`.
            assigns[last_plain + 1..]
                .iter()
                .filter(|a| a.operator.is_some_and(|o| o.starts_with('+')))
                .find(|a| a.value.is_some_and(|v| has_unsafe_part(cx, v)))
                .map(|a| a.node)
        } else {
            None
        };
        if let Some(at) = built_at {
            cx.report(
                query,
                format!(
                    "`{name}` (built on line {}) is SQL built from values, passed to `{}`; keep the statement constant and pass the values as query parameters",
                    at.start_position().row + 1,
                    call.name
                ),
            );
        }
    }
}

/// Which argument of a call is the query, if the call executes SQL.
fn query_index(call: &Call<'_>, cx: &Cx<'_, '_>) -> Option<usize> {
    let name = call.name;
    match cx.dialect {
        Dialect::Python => match name {
            "execute" | "executemany" | "executescript" | "raw" | "RawSQL" => Some(0),
            "text"
                if cx.imports("sqlalchemy")
                    && matches!(call.receiver(), None | Some("sa" | "sqlalchemy" | "sql")) =>
            {
                Some(0)
            }
            _ => None,
        },
        Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx => match name {
            "query" | "execute" | "raw" | "$queryRawUnsafe" | "$executeRawUnsafe" | "whereRaw"
            | "joinRaw" | "havingRaw" | "orderByRaw" => call.receiver().map(|_| 0),
            _ => None,
        },
        Dialect::Go => match name {
            "Query" | "QueryRow" | "Exec" | "Prepare" | "Queryx" | "QueryRowx" | "Select"
            | "Get" | "MustExec" | "Raw" => Some(0),
            "QueryContext" | "QueryRowContext" | "ExecContext" | "PrepareContext"
            | "QueryxContext" | "QueryRowxContext" | "SelectContext" | "GetContext"
            | "MustExecContext" => Some(1),
            _ => None,
        },
        Dialect::Java => match name {
            "executeQuery" | "executeUpdate" | "executeLargeUpdate" | "execute" | "addBatch"
            | "prepareStatement" | "prepareCall" | "createQuery" | "createNativeQuery"
            | "createSQLQuery" | "queryForObject" | "queryForList" | "queryForMap"
            | "queryForRowSet" | "query" | "update" | "batchUpdate" => Some(0),
            _ => None,
        },
        Dialect::Rust => None,
    }
}

/// A string built at run time whose literal parts look like SQL and which pastes in at
/// least one value that could carry SQL.
fn is_unsafe_sql(cx: &Cx<'_, '_>, node: Node<'_>) -> bool {
    is_runtime_string(cx, node)
        && SQL.is_match(&literal_text(cx, node))
        && has_unsafe_part(cx, node)
}

/// A string assembled at run time: what the language views call a dynamic string, plus
/// Java's `"...".formatted(...)`.
fn is_runtime_string(cx: &Cx<'_, '_>, node: Node<'_>) -> bool {
    if is_built_string(cx, node) {
        return true;
    }
    as_call(cx, node).is_some_and(|c| {
        c.name == "formatted" && c.receiver().is_some_and(|r| r.starts_with('"'))
            || c.is(&["util.format", "MessageFormat.format"])
    })
}

/// Whether any value pasted into the string could carry SQL.
fn has_unsafe_part(cx: &Cx<'_, '_>, node: Node<'_>) -> bool {
    let mut parts = Vec::new();
    dynamic_parts(cx, node, &mut parts, 0);
    parts.into_iter().any(|p| !is_safe_part(cx, p, true))
}

/// Values that cannot change the statement's structure: numbers, constants, quoted
/// identifiers, placeholder lists.
fn is_safe_part(cx: &Cx<'_, '_>, node: Node<'_>, follow: bool) -> bool {
    if cx.value(node).is_literal() {
        return true;
    }
    let text = cx.text(node);
    let bare = text.rsplit(['.', ':']).next().unwrap_or(text);
    let is_constant = bare.len() > 1
        && bare.chars().any(|c| c.is_ascii_uppercase())
        && bare
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if is_constant && !text.contains('(') {
        return true;
    }
    // Placeholder lists: `", ".join(["%s"] * len(ids))`, `ids.map(() => "?").join()`.
    const PLACEHOLDERS: &[&str] = &[
        "\"%s\"", "'%s'", "\"?\"", "'?'", "\"?,\"", "'?,'", "\"?, \"", "'?, '", "`?`", "'$'",
        "\"$\"", "`$",
    ];
    if PLACEHOLDERS.iter().any(|p| text.contains(p)) {
        return true;
    }
    if let Some(call) = as_call(cx, node) {
        let name = call.name.to_ascii_lowercase();
        // `", ".join(quote_name(c) for c in columns)`.
        if name == "join" && (text.contains("quote") || text.contains("escape")) {
            return true;
        }
        if name.contains("quote")
            || name.contains("escape")
            || matches!(
                name.as_str(),
                "int"
                    | "float"
                    | "len"
                    | "bool"
                    | "round"
                    | "abs"
                    | "number"
                    | "parseint"
                    | "parsefloat"
                    | "itoa"
                    | "formatint"
                    | "count"
                    | "size"
                    | "length"
                    | "placeholders"
                    | "placeholder"
                    | "uuid4"
                    | "table_name"
            )
            || (call.name == "str"
                && call
                    .positional(0)
                    .is_some_and(|a| is_safe_part(cx, a, follow)))
        {
            return true;
        }
        return false;
    }
    // Names that say what they hold: identifiers set by code (`db_table`), fragments of
    // SQL built by the code itself (`where_sql`, `order_clause`), counters.
    if matches!(bare, "db_table" | "table_name" | "tableName")
        || ["sql", "clause", "placeholders", "count", "counter"]
            .iter()
            .any(|w| name_is(bare, w))
    {
        return true;
    }
    // `int limit`, `id: number`, `n int`: typed as a number.
    if is_identifier(cx, node) && declared_type(cx, node, text).is_some_and(is_scalar_type) {
        return true;
    }
    // One step back: `placeholders = ", ".join("?" * n)` before the query.
    if follow && is_identifier(cx, node) {
        let assigns = assignments_before(cx, node, text);
        if let Some(v) = assigns.last().and_then(|a| a.value) {
            let mut parts = Vec::new();
            dynamic_parts(cx, v, &mut parts, 0);
            return parts.into_iter().all(|p| is_safe_part(cx, p, false));
        }
    }
    false
}

/// Whether a name is `word` or ends with it as a separate word: `sql`, `where_sql`,
/// `whereSql`, `WHERE_SQL` (but not `mysql`).
fn name_is(name: &str, word: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower == word {
        return true;
    }
    let Some(stem) = lower.strip_suffix(word) else {
        return false;
    };
    // The word starts after `_` or at an upper-case letter in camelCase.
    let start = name.len() - word.len();
    stem.ends_with('_')
        || (name[start..].starts_with(|c: char| c.is_ascii_uppercase())
            && name[..start].ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()))
}
