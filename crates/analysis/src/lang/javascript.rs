pub(crate) fn spec_js() -> &'static dyn super::LanguageSpec {
    super::python::spec()
}
pub(crate) fn spec_ts() -> &'static dyn super::LanguageSpec {
    super::python::spec()
}
pub(crate) fn spec_tsx() -> &'static dyn super::LanguageSpec {
    super::python::spec()
}
