//! PERF004: a database query executed on every iteration of a loop (N+1 queries).

use qa_core::Language;
use tree_sitter::Node;

use super::common::{
    assigned_value, innermost, last_name, loop_variable, loops, named_like, root_name,
    scoped_assignment, walks_collection,
};
use crate::lang::{Call, Dialect};
use crate::rules::helpers::kind;
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "PERF004",
    name: "query-in-loop",
    family: Performance,
    severity: Medium,
    languages: &[Language::Python, Language::JavaScript, Language::TypeScript, Language::Go, Language::Java, Language::Rust],
    title: "Database query executed on every iteration of a loop (N+1 queries)",
    applies_to_tests: false,
    docs: r#"## What it does
Finds database queries inside loops that walk a collection (for-each loops, callbacks of
`forEach`/`map`, comprehensions, `while rows.next()`):

- Python: `execute`/`executemany` on a cursor, connection, session or engine; Django
  `Model.objects.get/filter/exclude/create/get_or_create/count/exists/first/...`;
  SQLAlchemy `session.query/execute/get`.
- JavaScript, TypeScript: `query`/`execute` on a `db`, `pool`, `client`, `connection`,
  `knex` or `sequelize`; ORM lookups `findOne`, `findById`, `findByPk`, `findUnique`,
  `findFirst`, `findMany`, `findAll`; Prisma writes (`prisma.user.create`, ...).
- Go: `Query`, `QueryRow`, `Exec` and their `Context` forms on a `db`, `tx`, `conn`,
  `stmt` or `pool`.
- Java: JDBC `executeQuery`/`executeUpdate`, JPA `entityManager.find`/`createQuery`/
  `getResultList`, Spring Data repository `findBy*`/`findById`/`save`/... calls.
- Rust: sqlx `fetch_one`/`fetch_all`/`fetch_optional`/`execute`, diesel
  `load`/`get_result(s)`/`execute` on a connection.

Retry and polling loops, loops over a few literal values, and loops that run each
statement of a list (`for sql in statements: cursor.execute(sql)`) are not reported.

## Why is this bad?
Each query is a round trip to the database: network latency, parsing, planning and
locking paid once per element. Loading 1,000 orders and then each order's customer one by
one makes 1,001 queries where one or two would do; this "N+1" pattern is the most common
cause of slow pages and jobs, and it grows with the data. Sending the queries
concurrently (`Promise.all`) shortens the wait but not the work: the database still
parses, plans and runs every one of them.

## How to fix
Fetch everything the loop needs in one query before it (`WHERE id IN (...)`,
`= ANY($1)`), join the related table, or let the ORM batch: Django `select_related`/
`prefetch_related`/`filter(pk__in=...)`/`bulk_create`, SQLAlchemy `selectinload`/
`in_()`, JPA `JOIN FETCH`/`findAllById`/`saveAll`, JDBC `addBatch`/`executeBatch`,
`executemany`, Prisma `findMany({ where: { id: { in: ids } } })`/`createMany`. Then look
rows up in a dict or map inside the loop.

## Example
```python
for order in orders:
    customer = Customer.objects.get(pk=order.customer_id)
    send(customer.email, order)
```
Use instead:
```python
customers = Customer.objects.in_bulk([o.customer_id for o in orders])
for order in orders:
    send(customers[order.customer_id].email, order)
```
"#,
}

pub(crate) struct QueryInLoop;

/// What kind of data access a call is, for the suggestion.
#[derive(Clone, Copy)]
enum Access {
    Sql,
    Django,
    SqlAlchemy,
    JsOrm,
    Jpa,
    Spring,
    RustOrm,
}

const PY_SQL_RECEIVERS: &[&str] = &[
    "cursor",
    "cur",
    "conn",
    "connection",
    "db",
    "session",
    "engine",
    "tx",
    "transaction",
];
const JS_SQL_RECEIVERS: &[&str] = &[
    "db",
    "pool",
    "client",
    "conn",
    "connection",
    "knex",
    "sequelize",
    "database",
    "pg",
    "mysql",
    "sql",
    "tx",
    "trx",
    "transaction",
];
const GO_SQL_RECEIVERS: &[&str] = &["db", "tx", "conn", "stmt", "pool", "sqlx", "database"];
const RUST_EXECUTORS: &[&str] = &[
    "conn",
    "connection",
    "pool",
    "db",
    "tx",
    "transaction",
    "executor",
    "pg",
];

impl Rule for QueryInLoop {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        let Some(access) = classify(call, cx) else {
            return;
        };
        // Report a chain (`em.createQuery(q).getResultList()`) once, at its first query.
        if chain_has_query_before(call, cx) {
            return;
        }
        let loops = loops(cx, call.node);
        // Concurrent queries are still one query per element: no exemption for them.
        if !walks_collection(cx, &loops) {
            return;
        }
        // `for sql in statements: cursor.execute(sql)` runs a script, one statement each.
        if matches!(access, Access::Sql)
            && !call
                .receiver()
                .is_some_and(|r| named_like(last_name(r), &["stmt", "statement", "ps", "prepared"]))
            && let Some(inner) = innermost(&loops)
            && let Some(var) = loop_variable(cx, &inner)
            && let Some(query) = call.positional(0)
            && runs_statement_list(cx, query, var, inner.node)
        {
            return;
        }
        let fix = match access {
            Access::Sql => match cx.dialect {
                Dialect::Python => {
                    "fetch all rows in one query (`WHERE id IN (...)`) or use `executemany`"
                }
                Dialect::Java => {
                    "fetch all rows in one query (`WHERE id IN (...)`) or batch with `addBatch`/`executeBatch`"
                }
                _ => {
                    "fetch all rows in one query (`WHERE id IN (...)` / `= ANY($1)`) or batch the statements"
                }
            },
            Access::Django => {
                "fetch them in one query (`filter(pk__in=...)`, `in_bulk`, `select_related`/`prefetch_related`) or write with `bulk_create`/`bulk_update`"
            }
            Access::SqlAlchemy => {
                "load them in one query (`.in_(...)`, `selectinload`/`joinedload`)"
            }
            Access::JsOrm => {
                "load them in one query (`findMany`/`findAll` with an `in` filter, or include the relation) or write with `createMany`/`bulkCreate`"
            }
            Access::Jpa => "load them in one query (`JOIN FETCH`, `WHERE id IN :ids`)",
            Access::Spring => {
                "load or save them in one call (`findAllById`, a `findBy...In` query, `saveAll`)"
            }
            Access::RustOrm => {
                "fetch all rows in one query (`= ANY($1)`, `eq_any`) or batch the statements"
            }
        };
        cx.report(
            call.node,
            format!(
                "`{}` runs a database query on every iteration (N+1 queries); {fix}",
                call.callee
            ),
        );
    }
}

fn classify(call: &Call<'_>, cx: &Cx<'_, '_>) -> Option<Access> {
    let receiver = call.receiver()?;
    let recv_last = last_name(receiver);
    match cx.dialect {
        Dialect::Python => {
            if matches!(call.name, "execute" | "executemany")
                && named_like(recv_last, PY_SQL_RECEIVERS)
            {
                return Some(Access::Sql);
            }
            if matches!(recv_last, "objects" | "_default_manager" | "_base_manager")
                && matches!(
                    call.name,
                    "get"
                        | "filter"
                        | "exclude"
                        | "create"
                        | "get_or_create"
                        | "update_or_create"
                        | "count"
                        | "exists"
                        | "first"
                        | "last"
                        | "all"
                        | "aggregate"
                        | "values"
                        | "values_list"
                        | "latest"
                        | "earliest"
                        | "in_bulk"
                )
            {
                return Some(Access::Django);
            }
            if named_like(recv_last, &["session"]) {
                let sqlalchemy = cx.imports("sqlalchemy")
                    || cx.imports("flask_sqlalchemy")
                    || cx.imports("sqlmodel");
                let http = cx.imports("requests") || cx.imports("httpx") || cx.imports("aiohttp");
                match call.name {
                    "query" | "scalars" | "scalar" if !http => return Some(Access::SqlAlchemy),
                    "get" if sqlalchemy && !http => return Some(Access::SqlAlchemy),
                    _ => {}
                }
            }
            None
        }
        Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx => {
            // `knex.raw(sql)` also builds fragments for other builders; it runs a query
            // only when awaited.
            let runs = call.name != "raw"
                || cx
                    .parent_of(call.node)
                    .is_some_and(|p| p.kind_id() == kind!(cx.dialect, "await_expression"));
            if matches!(call.name, "query" | "execute" | "raw")
                && named_like(recv_last, JS_SQL_RECEIVERS)
                && runs
            {
                return Some(Access::Sql);
            }
            if receiver == "this" || receiver.ends_with(".prototype") {
                return None;
            }
            let lookup = matches!(
                call.name,
                "findOne"
                    | "findById"
                    | "findByPk"
                    | "findUnique"
                    | "findFirst"
                    | "findMany"
                    | "findOneBy"
                    | "findOneOrFail"
                    | "findAndCount"
                    | "findAndCountAll"
                    | "findUniqueOrThrow"
                    | "findFirstOrThrow"
            );
            if (lookup && !call.args.is_empty()) || call.name == "findAll" {
                return Some(Access::JsOrm);
            }
            if root_name(receiver) == "prisma"
                && matches!(
                    call.name,
                    "create" | "update" | "upsert" | "delete" | "count" | "aggregate"
                )
            {
                return Some(Access::JsOrm);
            }
            None
        }
        Dialect::Go => {
            let query = matches!(
                call.name,
                "Query"
                    | "QueryRow"
                    | "QueryContext"
                    | "QueryRowContext"
                    | "Exec"
                    | "ExecContext"
                    | "Get"
                    | "Select"
                    | "GetContext"
                    | "SelectContext"
                    | "Queryx"
                    | "QueryRowx"
                    | "NamedExec"
                    | "NamedExecContext"
            );
            let sqlx_only = matches!(call.name, "Get" | "Select" | "GetContext" | "SelectContext");
            (query
                && named_like(recv_last, GO_SQL_RECEIVERS)
                && (!sqlx_only || call.args.len() >= 2))
                .then_some(Access::Sql)
        }
        Dialect::Java => {
            if matches!(
                call.name,
                "executeQuery" | "executeUpdate" | "executeLargeUpdate"
            ) {
                return Some(Access::Sql);
            }
            let em = named_like(recv_last, &["em"])
                || recv_last.to_ascii_lowercase().ends_with("entitymanager");
            if em
                && matches!(
                    call.name,
                    "find" | "createQuery" | "createNativeQuery" | "createNamedQuery"
                )
            {
                return Some(Access::Jpa);
            }
            if matches!(
                call.name,
                "getResultList" | "getSingleResult" | "getResultStream"
            ) {
                return Some(Access::Jpa);
            }
            let repo = ["Repository", "Repo", "repository", "repo"]
                .iter()
                .any(|s| recv_last.ends_with(s));
            let method = call.name;
            let spring = method.starts_with("findBy")
                || method.starts_with("findAllBy")
                || method.starts_with("findFirstBy")
                || method.starts_with("existsBy")
                || method.starts_with("countBy")
                || method.starts_with("deleteBy")
                || matches!(
                    method,
                    "findById"
                        | "getById"
                        | "getOne"
                        | "getReferenceById"
                        | "existsById"
                        | "save"
                        | "saveAndFlush"
                        | "delete"
                        | "deleteById"
                );
            (repo && spring).then_some(Access::Spring)
        }
        Dialect::Rust => {
            let executor = call
                .positional(0)
                .is_some_and(|a| named_like(last_name(cx.text(a)), RUST_EXECUTORS));
            match call.name {
                "fetch_one" | "fetch_all" | "fetch_optional" if call.args.len() == 1 => {
                    Some(Access::RustOrm)
                }
                "load" | "get_result" | "get_results" | "first" | "execute" | "fetch"
                    if executor && call.args.len() == 1 =>
                {
                    Some(Access::RustOrm)
                }
                // rusqlite / postgres: `conn.execute(sql, params)`, `client.query(sql, &[..])`.
                "execute" | "query" | "query_one" | "query_opt" | "query_row"
                    if call.args.len() >= 2 && named_like(recv_last, RUST_EXECUTORS) =>
                {
                    Some(Access::Sql)
                }
                _ => None,
            }
        }
    }
}

/// Whether the receiver chain of `call` already contains a query this rule reports
/// (`em.createQuery(q)` in `em.createQuery(q).getResultList()`).
fn chain_has_query_before(call: &Call<'_>, cx: &Cx<'_, '_>) -> bool {
    let mut node = super::common::receiver_node(cx, call.node);
    while let Some(n) = node {
        if cx.lang.role(n) == crate::lang::Role::Call
            && let Some(inner) = cx.lang.call(n, cx.src)
        {
            if classify(&inner, cx).is_some() {
                return true;
            }
            node = super::common::receiver_node(cx, n);
        } else {
            node = n.named_child(0).filter(|_| n.named_child_count() == 1);
        }
    }
    false
}

/// Whether the query text `query` is (or is formatted from) a statement the loop walks:
/// `sql` in `for sql, params in statements`, or `stmt = sql % params` in `for sql in ...`.
fn runs_statement_list(cx: &Cx<'_, '_>, query: Node<'_>, var: &str, loop_node: Node<'_>) -> bool {
    let names: Vec<&str> = var
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .filter(|w| !w.is_empty() && *w != "mut")
        .collect();
    let text = cx.text(query);
    if names.contains(&text) {
        return true;
    }
    // `stmt = sql % params` / `sql.format(...)` assigned inside the loop.
    if !text.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return false;
    }
    scoped_assignment(cx, query, text)
        .filter(|a| {
            loop_node.start_byte() <= a.start_byte() && a.end_byte() <= loop_node.end_byte()
        })
        .and_then(|a| assigned_value(cx, a))
        .is_some_and(|v| {
            let v = cx.text(v);
            names.iter().any(|n| {
                v.strip_prefix(n)
                    .is_some_and(|rest| rest.trim_start().starts_with(['%', '.', '+']))
            })
        })
}
