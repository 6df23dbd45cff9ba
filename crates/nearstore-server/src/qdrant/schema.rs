//! OpenAPI schemas of the Qdrant shapes that serde reads through hand-written visitors
//! (a value that is "a list or an object", "a bool or a list"), written once as JSON
//! Schema here so `/openapi.json` describes exactly what the visitors in
//! [`crate::qdrant::request`] and [`crate::qdrant::model`] accept.
//!
//! Each schema is a unit type implementing `utoipa::ToSchema`, used as the `value_type` of
//! the field that holds the typed value. Must not depend on axum or on the engine.

use std::borrow::Cow;

use serde_json::{Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

/// A schema from its JSON form, as far as `utoipa`'s model can hold it. The document
/// does not rely on it: [`components`] gives every schema here in its exact JSON form, and
/// `crate::openapi` puts those into `components/schemas` (the openapi tests compile them
/// and validate live bodies against them).
fn from_json(v: Value) -> RefOr<Schema> {
    serde_json::from_value(v).unwrap_or_else(|_| RefOr::T(Schema::default()))
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// Declares a schema-only unit type: its name in `components/schemas`, its JSON Schema,
/// and the named schemas it refers to.
macro_rules! json_schema {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $schema:expr $(, [$($dep:ty),*])?) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub(crate) struct $ty;

        impl $ty {
            /// The schema's exact JSON form.
            fn json() -> Value {
                $schema
            }
        }

        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                from_json(Self::json())
            }
        }

        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }

            fn schemas(out: &mut Vec<(String, RefOr<Schema>)>) {
                let _ = &out;
                $($(
                    out.push((<$dep as ToSchema>::name().into_owned(), <$dep as PartialSchema>::schema()));
                    <$dep as ToSchema>::schemas(out);
                )*)?
            }
        }
    };
}

json_schema!(
    /// A point id: an unsigned integer or a UUID string.
    PointIdSchema,
    "PointId",
    json!({
        "description": "An unsigned integer or a UUID string",
        "oneOf": [{"type": "integer", "minimum": 0}, {"type": "string"}],
    })
);

json_schema!(
    /// A Qdrant filter (`must`, `should`, `must_not`; conditions nest).
    FilterSchema,
    "QdrantFilter",
    json!({
        "type": "object",
        "description": "must / should / must_not: a condition or a list of conditions",
        "properties": {
            "must": reference("QdrantConditions"),
            "should": reference("QdrantConditions"),
            "must_not": reference("QdrantConditions"),
            "min_should": {"description": "not supported: must be absent or null"},
        },
    }),
    [ConditionsSchema]
);

json_schema!(
    /// One condition or a list of them.
    ConditionsSchema,
    "QdrantConditions",
    json!({
        "oneOf": [
            {"type": "null"},
            reference("QdrantCondition"),
            {"type": "array", "items": reference("QdrantCondition")},
        ],
    }),
    [ConditionSchema]
);

json_schema!(
    /// A field condition, `is_empty` / `is_null` / `has_id`, or a nested filter.
    ConditionSchema,
    "QdrantCondition",
    json!({
        "type": "object",
        "properties": {
            "key": {"type": "string", "description": "a dotted payload path"},
            "match": {
                "type": "object",
                "description": "{value}, {any}, {except}, {text} or {phrase}",
            },
            "range": {
                "type": "object",
                "properties": {
                    "gt": {"type": ["number", "string", "null"]},
                    "gte": {"type": ["number", "string", "null"]},
                    "lt": {"type": ["number", "string", "null"]},
                    "lte": {"type": ["number", "string", "null"]},
                },
            },
            "geo_radius": {"type": "object"},
            "geo_bounding_box": {"type": "object"},
            "is_empty": {"type": ["boolean", "object"]},
            "is_null": {"type": ["boolean", "object"]},
            "has_id": {"type": "array", "items": reference("PointId")},
            "must": reference("QdrantConditions"),
            "should": reference("QdrantConditions"),
            "must_not": reference("QdrantConditions"),
        },
    }),
    [PointIdSchema]
);

json_schema!(
    /// `with_payload`: a flag, a list of (dotted) fields, `{include}` or `{exclude}`.
    WithPayloadSchema,
    "WithPayload",
    json!({
        "oneOf": [
            {"type": "boolean"},
            {"type": "array", "items": {"type": "string"}},
            {
                "type": "object",
                "properties": {
                    "include": {"type": "array", "items": {"type": "string"}},
                    "exclude": {"type": "array", "items": {"type": "string"}},
                },
                "minProperties": 1,
                "maxProperties": 1,
            },
        ],
    })
);

json_schema!(
    /// `with_vector`: a flag or a list of vector names.
    WithVectorSchema,
    "WithVector",
    json!({
        "oneOf": [
            {"type": "boolean"},
            {"type": "array", "items": {"type": "string"}},
        ],
    })
);

json_schema!(
    /// A sparse vector: parallel lists of dimensions and weights.
    SparseVectorSchema,
    "SparseVector",
    json!({
        "type": "object",
        "required": ["indices", "values"],
        "properties": {
            "indices": {"type": "array", "items": {"type": "integer", "minimum": 0}},
            "values": {"type": "array", "items": {"type": "number"}},
        },
    })
);

json_schema!(
    /// A query vector: dense, sparse, or the id of a stored point.
    VectorInputSchema,
    "VectorInput",
    json!({
        "oneOf": [
            {"type": "array", "items": {"type": "number"}},
            reference("SparseVector"),
            reference("PointId"),
        ],
    }),
    [SparseVectorSchema, PointIdSchema]
);

json_schema!(
    /// `query` of the Query API: a vector or point id (nearest), `{"nearest": ..}`,
    /// `{"recommend": {positive, negative, strategy}}` (average_vector only; the other
    /// strategies answer 400), `{"fusion": "rrf" | "dbsf"}` or `{"rrf": {"k": n}}`.
    QueryInputSchema,
    "QueryInput",
    json!({
        "oneOf": [
            reference("VectorInput"),
            {
                "type": "object",
                "required": ["nearest"],
                "properties": {
                    "nearest": reference("VectorInput"),
                    "mmr": {"description": "not supported: must be absent or null"},
                },
            },
            {
                "type": "object",
                "required": ["recommend"],
                "properties": {
                    "recommend": {
                        "type": "object",
                        "additionalProperties": false,
                        "properties": {
                            "positive": {"type": ["array", "null"], "items": reference("VectorInput")},
                            "negative": {"type": ["array", "null"], "items": reference("VectorInput")},
                            "strategy": {
                                "description": "average_vector or best_score; sum_scores answers 400",
                                "enum": ["average_vector", "best_score", "sum_scores", null],
                            },
                        },
                    },
                },
            },
            {
                "type": "object",
                "required": ["fusion"],
                "properties": {"fusion": {"enum": ["rrf", "dbsf"]}},
            },
            {
                "type": "object",
                "required": ["rrf"],
                "properties": {
                    "rrf": {
                        "type": "object",
                        "properties": {"k": {"type": ["integer", "null"], "minimum": 0}},
                    },
                },
            },
        ],
    }),
    [VectorInputSchema]
);

json_schema!(
    /// `prefetch`: one prefetch or a list of them.
    PrefetchesSchema,
    "QdrantPrefetches",
    json!({
        "oneOf": [
            {"type": "null"},
            reference("QdrantPrefetch"),
            {"type": "array", "items": reference("QdrantPrefetch")},
        ],
    }),
    [crate::qdrant::request::Prefetch]
);

json_schema!(
    /// `points/search` `vector`: a dense vector, or `{"name", "vector"}`.
    NamedVectorSchema,
    "NamedVectorStruct",
    json!({
        "oneOf": [
            {"type": "array", "items": {"type": "number"}},
            {
                "type": "object",
                "required": ["name", "vector"],
                "properties": {
                    "name": {"type": "string"},
                    "vector": {
                        "oneOf": [
                            {"type": "array", "items": {"type": "number"}},
                            reference("SparseVector"),
                        ],
                    },
                },
            },
        ],
    }),
    [SparseVectorSchema]
);

json_schema!(
    /// A point's vectors: the unnamed dense vector, or `{name: dense or sparse vector}`.
    VectorStructSchema,
    "VectorStruct",
    json!({
        "oneOf": [
            {"type": "array", "items": {"type": "number"}},
            {
                "type": "object",
                "additionalProperties": {
                    "oneOf": [
                        {"type": "array", "items": {"type": "number"}},
                        reference("SparseVector"),
                    ],
                },
            },
        ],
    }),
    [SparseVectorSchema]
);

json_schema!(
    /// The `vectors` of a batch upsert: one list per point, or `{name: [per point]}`.
    BatchVectorsSchema,
    "BatchVectorStruct",
    json!({
        "oneOf": [
            {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
            {
                "type": "object",
                "additionalProperties": {
                    "type": "array",
                    "items": {
                        "oneOf": [
                            {"type": "array", "items": {"type": "number"}},
                            reference("SparseVector"),
                        ],
                    },
                },
            },
        ],
    }),
    [SparseVectorSchema]
);

json_schema!(
    /// A scroll's `order_by`: a key, or `{key, direction, start_from}`.
    OrderBySchema,
    "OrderBy",
    json!({
        "oneOf": [
            {"type": "string"},
            {
                "type": "object",
                "required": ["key"],
                "properties": {
                    "key": {"type": "string"},
                    "direction": {"enum": ["asc", "desc", null]},
                    "start_from": {"type": ["number", "string", "null"]},
                },
            },
        ],
    })
);

json_schema!(
    /// A collection's dense vectors: one unnamed vector's parameters, or named ones.
    VectorsConfigSchema,
    "VectorsConfig",
    json!({
        "oneOf": [
            reference("VectorParams"),
            {"type": "object", "additionalProperties": reference("VectorParams")},
        ],
    }),
    [crate::qdrant::collection_model::VectorParams]
);

json_schema!(
    /// A payload index's `field_schema`: a type name or `{type, ...}` parameters.
    FieldSchemaSchema,
    "PayloadFieldSchema",
    json!({
        "oneOf": [
            {"enum": ["keyword", "integer", "float", "bool", "text", "geo", "datetime", "uuid"]},
            {
                "type": "object",
                "required": ["type"],
                "properties": {
                    "type": {"enum": ["keyword", "integer", "float", "bool", "text", "geo", "datetime", "uuid"]},
                    "lookup": {"type": ["boolean", "null"]},
                    "range": {"type": ["boolean", "null"]},
                    "memory": {
                        "description": "pinned (payload indexes are held in memory); cached and cold answer 400",
                        "enum": ["cold", "cached", "pinned", null],
                    },
                },
            },
        ],
    })
);

json_schema!(
    /// An ordered scroll's `order_value`: the field's number or date string, or null.
    OrderValueSchema,
    "OrderValue",
    json!({"type": ["number", "string", "null"]})
);

json_schema!(
    /// A payload as returned: an object, or null when not asked for.
    PayloadOutSchema,
    "PayloadOut",
    json!({"type": ["object", "null"]})
);

json_schema!(
    /// A vector as returned: a dense list, named vectors, or null when not asked for.
    VectorOutSchema,
    "VectorOut",
    json!({
        "oneOf": [
            {"type": "null"},
            {"type": "array", "items": {"type": "number"}},
            {
                "type": "object",
                "additionalProperties": {
                    "oneOf": [
                        {"type": "array", "items": {"type": "number"}},
                        reference("SparseVector"),
                    ],
                },
            },
        ],
    }),
    [SparseVectorSchema]
);

/// Every schema of this module by name, in its exact JSON form (see [`from_json`]).
pub(crate) fn components() -> Vec<(&'static str, Value)> {
    vec![
        ("PointId", PointIdSchema::json()),
        ("QdrantFilter", FilterSchema::json()),
        ("QdrantConditions", ConditionsSchema::json()),
        ("QdrantCondition", ConditionSchema::json()),
        ("WithPayload", WithPayloadSchema::json()),
        ("WithVector", WithVectorSchema::json()),
        ("SparseVector", SparseVectorSchema::json()),
        ("VectorInput", VectorInputSchema::json()),
        ("QueryInput", QueryInputSchema::json()),
        ("NamedVectorStruct", NamedVectorSchema::json()),
        ("OrderBy", OrderBySchema::json()),
        ("VectorsConfig", VectorsConfigSchema::json()),
        ("PayloadFieldSchema", FieldSchemaSchema::json()),
        ("OrderValue", OrderValueSchema::json()),
        ("PayloadOut", PayloadOutSchema::json()),
        ("VectorOut", VectorOutSchema::json()),
    ]
}

/// The schema of Qdrant's success envelope around `result`: `{result, status, time}`.
pub(crate) fn envelope(result: RefOr<Schema>) -> RefOr<Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .property("result", result)
        .property(
            "status",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["ok"])),
        )
        .property("time", ObjectBuilder::new().schema_type(Type::Number))
        .required("result")
        .required("status")
        .required("time")
        .into()
}
