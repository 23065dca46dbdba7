pub(crate) fn spec() -> &'static dyn super::LanguageSpec {
    super::python::spec()
}
