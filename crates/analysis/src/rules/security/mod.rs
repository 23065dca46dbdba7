//! Security rules: injection, unsafe deserialisation, weak cryptography, secrets, XSS.

mod child_process_exec;
mod code_injection_eval;
mod common;
mod debug_mode_enabled;
mod go_shell_command;
mod hardcoded_password;
mod inner_html_assignment;
mod insecure_random_secret;
mod insecure_temp_file;
mod java_object_deserialization;
mod java_runtime_exec;
mod jwt_verification_disabled;
mod os_command_call;
mod pickle_deserialization;
mod react_dangerous_html;
mod secret_token_pattern;
mod sql_string_formatting;
mod subprocess_shell_true;
mod tls_verification_disabled;
mod unescaped_markup;
mod weak_cipher;
mod weak_hash;
mod world_writable_permissions;
mod yaml_unsafe_load;

use super::Rule;

pub(crate) static RULES: &[&dyn Rule] = &[
    &code_injection_eval::CodeInjectionEval,
    &subprocess_shell_true::SubprocessShellTrue,
    &os_command_call::OsCommandCall,
    &child_process_exec::ChildProcessExec,
    &go_shell_command::GoShellCommand,
    &java_runtime_exec::JavaRuntimeExec,
    &pickle_deserialization::PickleDeserialization,
    &yaml_unsafe_load::YamlUnsafeLoad,
    &java_object_deserialization::JavaObjectDeserialization,
    &weak_hash::WeakHash,
    &weak_cipher::WeakCipher,
    &tls_verification_disabled::TlsVerificationDisabled,
    &hardcoded_password::HardcodedPassword,
    &secret_token_pattern::SecretTokenPattern,
    &sql_string_formatting::SqlStringFormatting,
    &insecure_temp_file::InsecureTempFile,
    &debug_mode_enabled::DebugModeEnabled,
    &inner_html_assignment::InnerHtmlAssignment,
    &react_dangerous_html::ReactDangerousHtml,
    &unescaped_markup::UnescapedMarkup,
    &jwt_verification_disabled::JwtVerificationDisabled,
    &insecure_random_secret::InsecureRandomSecret,
    &world_writable_permissions::WorldWritablePermissions,
];
