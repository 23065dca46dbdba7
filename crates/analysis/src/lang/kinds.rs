//! Grammar node kinds and field names resolved to numeric ids once per grammar, so hot loops
//! compare integers instead of strings, and a misspelt kind fails a test instead of silently
//! never matching.

/// Declares a struct of node-kind and field ids for one grammar.
///
/// `named { a, b }` are named node kinds spelt as in the grammar; `tokens { and = "&&" }` are
/// anonymous tokens; `renamed { kw_true = "true" }` are named kinds whose names are Rust
/// keywords; `optional { x }` are named kinds only some dialects sharing the table have
/// (they resolve to [`ABSENT`], which no node has); `fields { body }` are field names. `load` panics on an unknown name;
/// the `every_grammar_loads_and_every_kind_table_resolves` test builds every table.
macro_rules! kind_table {
    (
        $vis:vis struct $name:ident;
        named { $($named:ident),* $(,)? }
        $(renamed { $($ren:ident = $ren_text:literal),* $(,)? })?
        $(optional { $($opt:ident),* $(,)? })?
        tokens { $($tok:ident = $text:literal),* $(,)? }
        fields { $($field:ident),* $(,)? }
    ) => {
        #[allow(dead_code)]
        #[derive(Debug)]
        $vis struct $name {
            $(pub $named: u16,)*
            $($(pub $ren: u16,)*)?
            $($(pub $opt: u16,)*)?
            $(pub $tok: u16,)*
            pub f: Fields,
        }

        #[allow(dead_code)]
        #[derive(Debug)]
        $vis struct Fields {
            $(pub $field: u16,)*
        }

        impl $name {
            fn load(lang: &tree_sitter::Language) -> $name {
                let id = |kind: &str, named: bool| {
                    let id = lang.id_for_node_kind(kind, named);
                    assert!(id != 0, "grammar has no {} node kind `{kind}`",
                        if named { "named" } else { "anonymous" });
                    id
                };
                let field = |name: &str| {
                    lang.field_id_for_name(name)
                        .unwrap_or_else(|| panic!("grammar has no field `{name}`"))
                        .get()
                };
                $name {
                    $($named: id(stringify!($named), true),)*
                    $($($ren: id($ren_text, true),)*)?
                    $($($opt: match lang.id_for_node_kind(stringify!($opt), true) {
                        0 => ABSENT,
                        id => id,
                    },)*)?
                    $($tok: id($text, false),)*
                    f: Fields { $($field: field(stringify!($field).trim_start_matches("r#")),)* },
                }
            }
        }
    };
}

pub(crate) use kind_table;

/// The id of a kind a grammar does not have: never equal to a real node's kind id.
pub(crate) const ABSENT: u16 = u16::MAX;
