//! Checks real responses against the response schemas of Rocket.Chat's own OpenAPI
//! document (tests/fixtures/rocketchat-openapi/omnichannel.yaml, see tests/fixtures/README.md).

use std::path::Path;
use std::sync::LazyLock;

use serde_json::Value;

static OMNICHANNEL: LazyLock<Value> = LazyLock::new(|| {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rocketchat-openapi/omnichannel.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    serde_yaml::from_str(&text).expect("omnichannel.yaml parses")
});

/// Follows a local `$ref` such as `#/components/responses/authorizationError`.
fn resolve<'a>(document: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            resolve(document, document.pointer(pointer).unwrap_or_else(|| panic!("unresolved {reference}")))
        }
        None => node,
    }
}

/// OpenAPI 3.0 schema objects are JSON Schema draft 4 plus annotations: drop those.
fn json_schema(node: &Value) -> Value {
    match node {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .filter(|(key, _)| !matches!(key.as_str(), "example" | "examples") && !key.starts_with("x-"))
                .map(|(key, value)| (key.clone(), json_schema(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(json_schema).collect()),
        other => other.clone(),
    }
}

/// Panics unless `body` conforms to the documented response of `path` / `method` / `status`.
pub fn assert_conforms(path: &str, method: &str, status: u16, body: &Value) {
    let document = &*OMNICHANNEL;
    let operation = document["paths"][path][method].clone();
    assert!(operation.is_object(), "{method} {path} is not in omnichannel.yaml");
    let response = resolve(document, &operation["responses"][status.to_string()]);
    let schema = &response["content"]["application/json"]["schema"];
    assert!(schema.is_object(), "{method} {path} documents no JSON body for {status}");
    let schema = json_schema(resolve(document, schema));
    let validator = jsonschema::draft4::new(&schema).expect("schema compiles");
    let errors: Vec<String> =
        validator.iter_errors(body).map(|error| format!("{} at {}", error, error.instance_path)).collect();
    assert!(errors.is_empty(), "{method} {path} {status} does not match the upstream schema: {errors:?}\nbody: {body}");
}
