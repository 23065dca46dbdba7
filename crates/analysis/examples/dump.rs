//! Prints the syntax tree of a file as qa-agent's parser sees it, one node per line with
//! field names and line numbers: `cargo run -p qa-analysis --example dump -- FILE`.

fn main() {
    let path = std::env::args().nth(1).expect("usage: dump FILE");
    let dialect = qa_analysis::Dialect::from_path(std::path::Path::new(&path))
        .expect("unsupported file extension");
    let text = std::fs::read(&path).expect("readable file");
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&dialect.grammar()).unwrap();
    let tree = parser.parse(&text, None).unwrap();
    let mut cursor = tree.walk();
    let mut depth = 0;
    loop {
        let node = cursor.node();
        let field = cursor
            .field_name()
            .map(|f| format!("{f}: "))
            .unwrap_or_default();
        let leaf = if node.child_count() == 0 {
            format!(" {:?}", node.utf8_text(&text).unwrap_or(""))
        } else {
            String::new()
        };
        let kind = if node.is_named() {
            node.kind().to_string()
        } else {
            format!("'{}'", node.kind())
        };
        println!(
            "{:indent$}{field}{kind} [{}-{}]{leaf}",
            "",
            node.start_position().row + 1,
            node.end_position().row + 1,
            indent = depth * 2
        );
        if cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return;
            }
            depth -= 1;
        }
    }
}
