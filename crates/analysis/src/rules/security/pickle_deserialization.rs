//! SEC007: data deserialised with pickle or one of its relatives.

use qa_core::Language;

use crate::lang::Call;
use crate::rules::security::common::anchor;
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "SEC007",
    name: "pickle-deserialization",
    family: Security,
    severity: High,
    languages: &[Language::Python],
    title: "Data is deserialised with pickle, which can run arbitrary code",
    applies_to_tests: false,
    docs: r#"## What it does
Finds deserialisation with modules that can rebuild arbitrary Python objects:
`pickle.load`/`loads`/`Unpickler` (and `cPickle`, `_pickle`), `dill.load`/`loads`,
`shelve.open`, `marshal.load`/`loads`, `jsonpickle.decode`, `pandas.read_pickle`
(`pd.read_pickle`) and `joblib.load`. Every call is reported, whatever its argument, as
Bandit's B301 does: whether the data is trusted cannot be seen from the call.

## Why is this bad?
A pickle is a program for a small virtual machine that can import any module and call
any function (`os.system` included) while it is loaded. Loading a pickle an attacker can
write, even indirectly (an upload, a cache shared with another service, a model file
downloaded from the internet), runs their code in your process.

## How to fix
Store data in a format that cannot carry code: JSON, MessagePack, Protocol Buffers,
Parquet/Arrow for data frames, `safetensors` for model weights. If you must load pickles,
only load ones your own process wrote to storage nobody else can write, and sign them
(HMAC) to check before loading; suppress the finding there with a comment saying why.

## Example
```python
def load_session(blob):
    return pickle.loads(blob)
```
Use instead:
```python
def load_session(blob):
    return json.loads(blob)
```
"#,
}

pub(crate) struct PickleDeserialization;

const LOADERS: &[&str] = &[
    "pickle.load",
    "pickle.loads",
    "pickle.Unpickler",
    "cPickle.load",
    "cPickle.loads",
    "cPickle.Unpickler",
    "_pickle.load",
    "_pickle.loads",
    "_pickle.Unpickler",
    "dill.load",
    "dill.loads",
    "dill.Unpickler",
    "shelve.open",
    "shelve.DbfilenameShelf",
    "marshal.load",
    "marshal.loads",
    "jsonpickle.decode",
    "jsonpickle.loads",
    "pandas.read_pickle",
    "pd.read_pickle",
    "joblib.load",
];

impl Rule for PickleDeserialization {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        if !call.is(LOADERS) {
            return;
        }
        cx.report(
            anchor(call),
            format!(
                "`{}` can run arbitrary code hidden in the data; use a data-only format (JSON, MessagePack, Parquet) or load only signed data your own process wrote",
                call.callee
            ),
        );
    }
}
