// `sqlx::migrate!` embeds the migration files at compile time; rebuild when they change
// (stable Rust cannot track them from the macro itself).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
