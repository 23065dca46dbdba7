//! SEC009: Java deserialisation that can instantiate arbitrary classes (native
//! serialisation, `XMLDecoder`, XStream, Jackson default typing).

use qa_core::Language;

use crate::lang::Call;
use crate::rules::helpers::kind;
use crate::rules::security::common::anchor;
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "SEC009",
    name: "java-object-deserialization",
    family: Security,
    severity: High,
    languages: &[Language::Java],
    title: "Data is deserialised in a way that can instantiate arbitrary classes",
    applies_to_tests: false,
    docs: r#"## What it does
Finds Java deserialisation that lets the data choose which classes to instantiate:

- `new ObjectInputStream(...)` (native serialisation), unless it is an anonymous subclass
  that overrides `resolveClass` to allow-list classes;
- `new XMLDecoder(...)`;
- XStream's `fromXML(...)`;
- Jackson's `enableDefaultTyping(...)` and `activateDefaultTyping(...)`, which make every
  mapper read type names from the JSON.

## Why is this bad?
Deserialising an object graph whose classes the sender picks runs code from those
classes' constructors, `readObject` and setters. With common libraries on the class path
("gadget chains" in Commons Collections, Spring, Groovy...) that is enough for remote code
execution, which is how many of the worst Java CVEs worked. `XMLDecoder` documents can
call any method directly.

## How to fix
Exchange data in a format that maps to fixed types (JSON or Protocol Buffers read into
a known class). If native serialisation is unavoidable, set an `ObjectInputFilter`
(`ois.setObjectInputFilter(...)`, JEP 290) or use an allow-listing stream such as Commons
IO's `ValidatingObjectInputStream`. With Jackson, use `@JsonTypeInfo` with
`JsonTypeInfo.Id.NAME` and registered subtypes, or a `PolymorphicTypeValidator` that
allows only your own packages; with XStream, call `allowTypes`/`addPermission`.

## Example
```java
try (ObjectInputStream in = new ObjectInputStream(socket.getInputStream())) {
    return (Message) in.readObject();
}
```
Use instead:
```java
return mapper.readValue(socket.getInputStream(), Message.class);
```
"#,
}

pub(crate) struct JavaObjectDeserialization;

impl Rule for JavaObjectDeserialization {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        let message = match call.callee.as_str() {
            "new ObjectInputStream" | "new java.io.ObjectInputStream" => {
                if overrides_resolve_class(cx, call) {
                    return;
                }
                "`ObjectInputStream` lets the data choose which classes to instantiate; exchange JSON/Protobuf into fixed types, or set an ObjectInputFilter that allow-lists classes"
            }
            "new XMLDecoder" | "new java.beans.XMLDecoder" => {
                "`XMLDecoder` documents can call arbitrary methods; parse the XML into fixed types (JAXB, Jackson XML) instead"
            }
            _ if call.name == "fromXML" && is_xstream(cx, call) => {
                "XStream `fromXML` instantiates whatever classes the XML names; restrict it with `allowTypes`/`addPermission` before reading untrusted XML"
            }
            _ if matches!(call.name, "enableDefaultTyping" | "activateDefaultTyping")
                && call.receiver().is_some()
                && !delegates(cx, call) =>
            {
                "Jackson default typing reads class names from the JSON (gadget-chain RCE); use @JsonTypeInfo with named subtypes or a PolymorphicTypeValidator allowing only your packages"
            }
            _ => return,
        };
        cx.report(anchor(call), message);
    }
}

/// `new ObjectInputStream(in) { protected Class<?> resolveClass(...) ... }`: the usual
/// look-ahead allow-list.
fn overrides_resolve_class(cx: &Cx<'_, '_>, call: &Call<'_>) -> bool {
    let mut cursor = call.node.walk();
    call.node
        .named_children(&mut cursor)
        .filter(|c| c.kind_id() == kind!(cx.dialect, "class_body"))
        .any(|body| cx.text(body).contains("resolveClass"))
}

fn is_xstream(cx: &Cx<'_, '_>, call: &Call<'_>) -> bool {
    let recv = call.receiver().unwrap_or("");
    recv.to_ascii_lowercase().contains("xstream")
        || cx
            .imports
            .iter()
            .any(|i| i.starts_with("com.thoughtworks.xstream"))
}

/// A method that forwards to the same-named method (a builder delegating to its mapper):
/// the API itself, not a use of it.
fn delegates(cx: &Cx<'_, '_>, call: &Call<'_>) -> bool {
    cx.function.is_some_and(|f| {
        let name = f
            .qualified_name
            .rsplit('.')
            .next()
            .unwrap_or(f.qualified_name);
        name.starts_with(call.name)
    })
}
