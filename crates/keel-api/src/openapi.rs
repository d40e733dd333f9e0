//! The OpenAPI 3.1 description of the `/v1` API, as the server serves it at
//! [`OPENAPI`](crate::routes::OPENAPI). Behind the `openapi` feature (utoipa), which only the server enables.
//!
//! Nothing in it is written twice: its operations are [`Endpoint::ALL`] (the list the server's
//! router is made from), its paths the [`crate::routes`] constants with their `{...}` segments as path
//! parameters, its query parameters and schemas derived by utoipa from the serde types of
//! [`crate::http`], [`crate::schema`], [`crate::log`] and [`crate::routes`], and the error answers of
//! each status the [`ErrorKind`]s whose [`ErrorKind::status`] it is. What [`operation`] adds by
//! hand, per endpoint, is what no type says: a summary, the body and answer types, the statuses
//! of its errors, and whether it needs a token.

use std::collections::BTreeMap;

use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::{RequestBody, RequestBodyBuilder};
use utoipa::openapi::schema::{
    AllOfBuilder, ArrayBuilder, ComponentsBuilder, ObjectBuilder, SchemaType, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr, Required, Response,
    ResponseBuilder, Schema,
};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::http::{
    ApiError, CallResult, DatabaseInfo, DatabaseList, DatabaseSummary, Deleted, ErrorKind,
    IdentityCreated, IdentityDeleted, LogList, PublishResult, RenameRequest, ServerInfo,
    SqlRequest, SqlResult, WhoAmI,
};
use crate::names::{DATABASE_NAME_PATTERN, MAX_DATABASE_NAME_LEN};
use crate::routes::{Endpoint, LogsQuery, Method, PublishQuery};

/// The name of the bearer-token security scheme.
pub const BEARER: &str = "bearer";

/// The media type of a module upload.
pub const WASM: &str = "application/wasm";

/// The description of every [`Endpoint`].
pub fn document() -> OpenApi {
    let mut schemas = Schemas::default();
    schemas.add::<ApiError>();
    let mut paths = Paths::new();
    for &endpoint in Endpoint::ALL {
        let operation = operation(endpoint, &mut schemas);
        paths.add_path_operation(
            endpoint.route(),
            vec![http_method(endpoint.method())],
            operation,
        );
    }
    let mut components = ComponentsBuilder::new().security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "The token of `POST /v1/identity`, as `Authorization: Bearer TOKEN`",
                ))
                .build(),
        ),
    );
    for (name, schema) in schemas.0 {
        components = components.schema(name, schema);
    }
    for (status, response) in error_responses() {
        components = components.response(status.to_string(), response);
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Keel")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "A database that runs WebAssembly modules: publish a module to a named database, call its reducers, query it with SQL. Every error answer is an ApiError whose `kind` says what failed; each kind has one status.",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(components.build()))
        .build()
}

/// The description as JSON text, as it is served.
pub fn document_json() -> String {
    document()
        .to_pretty_json()
        .expect("the description serializes")
}

/// What one endpoint takes and answers.
fn operation(endpoint: Endpoint, schemas: &mut Schemas) -> utoipa::openapi::path::Operation {
    let (summary, auth, body, ok, errors): (_, _, Option<RequestBody>, _, &[u16]) = match endpoint {
        Endpoint::Ping => (
            "Server version and module ABI",
            false,
            None,
            schemas.add::<ServerInfo>(),
            &[],
        ),
        Endpoint::OpenApi => (
            "This description",
            false,
            None,
            ObjectBuilder::new().into(),
            &[],
        ),
        Endpoint::CreateIdentity => (
            "A new identity and its bearer token (shown once)",
            false,
            None,
            schemas.add::<IdentityCreated>(),
            &[429, 500],
        ),
        Endpoint::WhoAmI => (
            "The identity the token belongs to",
            true,
            None,
            schemas.add::<WhoAmI>(),
            &[],
        ),
        Endpoint::DeleteIdentity => (
            "Delete the caller's identity and every database it owns",
            true,
            None,
            schemas.add::<IdentityDeleted>(),
            &[500, 507],
        ),
        Endpoint::ListDatabases => (
            "The caller's databases",
            true,
            None,
            schemas.add::<DatabaseList>(),
            &[500],
        ),
        Endpoint::Publish => (
            "Create the database with this module, or update its module (automatic migration; `clear` wipes the data first)",
            true,
            Some(wasm_body()),
            schemas.add::<PublishResult>(),
            &[400, 403, 404, 409, 413, 422, 500, 503, 507],
        ),
        Endpoint::DeleteDatabase => (
            "Delete a database (owner only)",
            true,
            None,
            schemas.add::<Deleted>(),
            &[403, 404, 500, 507],
        ),
        Endpoint::Reset => (
            "Remove a database's module and data, keeping its name (owner only)",
            true,
            None,
            schemas.add::<Deleted>(),
            &[403, 404, 500, 507],
        ),
        Endpoint::Rename => (
            "Rename a database, and maybe give it to another identity (owner only)",
            true,
            Some(json_body(schemas.add::<RenameRequest>(), Required::True)),
            schemas.add::<DatabaseSummary>(),
            &[400, 403, 404, 409, 413, 500, 503, 507],
        ),
        Endpoint::Call => (
            "Call a reducer with a JSON array of arguments (no body: no arguments); it runs in one transaction",
            true,
            Some(json_body(
                ArrayBuilder::new()
                    .items(serde_json::Value::schema())
                    .into(),
                Required::False,
            )),
            schemas.add::<CallResult>(),
            &[400, 403, 404, 413, 422, 500, 503, 507],
        ),
        Endpoint::Sql => (
            "Run one SQL statement: the owner may change data, everyone else reads public tables",
            true,
            Some(json_body(schemas.add::<SqlRequest>(), Required::True)),
            schemas.add::<SqlResult>(),
            &[400, 403, 404, 413, 500, 503, 507],
        ),
        Endpoint::Logs => (
            "The last records of the module's log, oldest first (owner only)",
            true,
            None,
            schemas.add::<LogList>(),
            &[400, 403, 404, 500],
        ),
        Endpoint::Schema => (
            "A database's owner, module hash and module schema",
            true,
            None,
            schemas.add::<DatabaseInfo>(),
            &[404, 500],
        ),
    };
    let mut builder = OperationBuilder::new()
        .operation_id(Some(endpoint.name()))
        .summary(Some(summary))
        .parameters(Some(path_parameters(endpoint.route())))
        .response(
            "200",
            ResponseBuilder::new().description("Success").content(
                "application/json",
                ContentBuilder::new().schema(Some(ok)).build(),
            ),
        );
    builder = match endpoint {
        Endpoint::Publish => {
            builder.parameters(Some(PublishQuery::into_params(|| Some(ParameterIn::Query))))
        }
        Endpoint::Logs => {
            builder.parameters(Some(LogsQuery::into_params(|| Some(ParameterIn::Query))))
        }
        _ => builder,
    };
    if let Some(body) = body {
        builder = builder.request_body(Some(body));
    }
    let mut statuses = errors.to_vec();
    if auth {
        statuses.push(401);
        builder = builder.security(SecurityRequirement::new(BEARER, Vec::<String>::new()));
    }
    statuses.sort_unstable();
    for status in statuses {
        builder = builder.response(
            status.to_string(),
            Ref::new(format!("#/components/responses/{status}")),
        );
    }
    builder.build()
}

/// A body of module bytes.
fn wasm_body() -> RequestBody {
    let schema = ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .content_media_type(WASM);
    RequestBodyBuilder::new()
        .required(Some(Required::True))
        .content(WASM, ContentBuilder::new().schema(Some(schema)).build())
        .build()
}

/// A JSON body of `schema`.
fn json_body(schema: RefOr<Schema>, required: Required) -> RequestBody {
    RequestBodyBuilder::new()
        .required(Some(required))
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(schema)).build(),
        )
        .build()
}

/// The schemas the description refers to, by name.
#[derive(Default)]
struct Schemas(BTreeMap<String, RefOr<Schema>>);

impl Schemas {
    /// Adds `T` and the schemas it refers to; returns a reference to it.
    fn add<T: ToSchema>(&mut self) -> RefOr<Schema> {
        // Named after the type: the error responses refer to `ApiError` by name too.
        let mut found = vec![(T::name().into_owned(), T::schema())];
        T::schemas(&mut found);
        let name = found[0].0.clone();
        self.0.extend(found);
        Ref::from_schema_name(name).into()
    }
}

/// The path parameters of `route`: one string per `{...}` segment.
fn path_parameters(route: &str) -> Vec<utoipa::openapi::path::Parameter> {
    route
        .split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(name, _)| name))
        .map(|name| {
            let (description, schema) = match name {
                "name" => (
                    "Database name: 1 to 64 characters of a-z, 0-9, `-` and `_`, starting with a letter or digit",
                    ObjectBuilder::new()
                        .schema_type(SchemaType::Type(Type::String))
                        .min_length(Some(1))
                        .max_length(Some(MAX_DATABASE_NAME_LEN))
                        .pattern(Some(DATABASE_NAME_PATTERN)),
                ),
                _ => (
                    "Reducer name",
                    ObjectBuilder::new()
                        .schema_type(SchemaType::Type(Type::String))
                        .min_length(Some(1)),
                ),
            };
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(description))
                .schema(Some(schema))
                .build()
        })
        .collect()
}

/// One response per error status: an [`ApiError`] whose `kind` is one of those with that status.
fn error_responses() -> BTreeMap<u16, Response> {
    let mut kinds: BTreeMap<u16, Vec<String>> = BTreeMap::new();
    for kind in error_kinds() {
        let name = serde_json::to_value(kind).expect("kinds serialize");
        let name = name.as_str().expect("kinds are strings").to_owned();
        kinds.entry(kind.status()).or_default().push(name);
    }
    kinds
        .into_iter()
        .map(|(status, names)| {
            let schema = AllOfBuilder::new()
                .item(Ref::from_schema_name(ApiError::name()))
                .item(
                    ObjectBuilder::new().property(
                        "kind",
                        ObjectBuilder::new()
                            .schema_type(SchemaType::Type(Type::String))
                            .enum_values(Some(names.clone())),
                    ),
                );
            let response = ResponseBuilder::new()
                .description(format!("An ApiError of kind {}", names.join(", ")))
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(schema)).build(),
                )
                .build();
            (status, response)
        })
        .collect()
}

/// Every [`ErrorKind`], read from its derived schema.
fn error_kinds() -> Vec<ErrorKind> {
    let schema = serde_json::to_value(ErrorKind::schema()).expect("the schema serializes");
    schema["enum"]
        .as_array()
        .expect("ErrorKind's schema is an enum")
        .iter()
        .map(|name| serde_json::from_value(name.clone()).expect("every listed kind parses"))
        .collect()
}

fn http_method(method: Method) -> HttpMethod {
    match method {
        Method::Get => HttpMethod::Get,
        Method::Post => HttpMethod::Post,
        Method::Delete => HttpMethod::Delete,
    }
}

/// The description's operations as (method, path), for comparing with a router.
pub fn operations(document: &OpenApi) -> Vec<(String, String)> {
    let value = serde_json::to_value(document).expect("the description serializes");
    let mut operations = Vec::new();
    for (path, item) in value["paths"].as_object().into_iter().flatten() {
        for method in item.as_object().into_iter().flatten().map(|(it, _)| it) {
            if [
                "get", "post", "delete", "put", "patch", "head", "options", "trace",
            ]
            .contains(&method.as_str())
            {
                operations.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    operations.sort();
    operations
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_is_described_once() {
        let document = document();
        let mut expected: Vec<(String, String)> = Endpoint::ALL
            .iter()
            .map(|it| (it.method().as_str().to_owned(), it.route().to_owned()))
            .collect();
        expected.sort();
        assert_eq!(operations(&document), expected);
        assert!(document_json().contains(crate::routes::OPENAPI));
    }

    #[test]
    fn every_reference_resolves() {
        let value = serde_json::to_value(document()).unwrap();
        let text = value.to_string();
        for reference in text.split("\"$ref\":\"").skip(1) {
            let reference = reference.split('"').next().unwrap();
            let pointer = reference.trim_start_matches('#');
            assert!(
                value.pointer(pointer).is_some(),
                "{reference} does not resolve"
            );
        }
    }

    #[test]
    fn database_names_are_described_alike() {
        let value = serde_json::to_value(document()).unwrap();
        let new_name = &value["components"]["schemas"]["RenameRequest"]["properties"]["new_name"];
        let path_name =
            &value["paths"][crate::routes::DATABASE]["delete"]["parameters"][0]["schema"];
        for schema in [new_name, path_name] {
            assert_eq!(schema["pattern"], DATABASE_NAME_PATTERN, "{schema}");
            assert_eq!(schema["maxLength"], MAX_DATABASE_NAME_LEN, "{schema}");
            assert_eq!(schema["minLength"], 1, "{schema}");
        }
    }

    #[test]
    fn errors_of_each_status_name_their_kinds() {
        let responses = error_responses();
        assert_eq!(
            responses.keys().copied().collect::<Vec<_>>(),
            [400, 401, 403, 404, 409, 413, 422, 429, 500, 503, 507]
        );
        let text = serde_json::to_string(&responses[&422]).unwrap();
        assert!(
            text.contains("out_of_fuel") && !text.contains("not_found"),
            "{text}"
        );
    }
}
