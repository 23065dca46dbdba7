//! Security rules: injection, unsafe deserialisation, weak cryptography, secrets, XSS.

mod hardcoded_password;
mod subprocess_shell_true;

use super::Rule;

pub(crate) static RULES: &[&dyn Rule] = &[
    &subprocess_shell_true::SubprocessShellTrue,
    &hardcoded_password::HardcodedPassword,
];
