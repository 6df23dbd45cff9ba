//! The Qdrant-compatible subset: the routes and JSON shapes of Qdrant's REST API v1.x that
//! the official `qdrant-client` and LangChain's `QdrantVectorStore` use, over the same
//! engine as the native API.
//!
//! Envelope: `{"result": ..., "status": "ok", "time": seconds}`; errors
//! `{"status": {"error": "..."}}` with the server's status table. The unnamed dense vector
//! (`vectors: {size, distance}`, or the `""` name), named dense vectors (a map of vectors
//! without `""` is a collection without a default vector, as in Qdrant) and the named
//! sparse vectors the collection declares (`sparse_vectors`, [`vectors`]); a point may
//! carry any subset of them; single-vector edits ([`vector_edits`]); multi-vectors answer
//! 400 "not supported". Ids: see
//! [`ids`]; filters: see [`filter`]. Recommend (the route and the Query API's
//! `{"recommend": ..}`): the average_vector strategy only ([`recommend`]). Every search (search, query with prefetch and fusion, recommend) is one
//! engine request ([`query_plan`]). Collection aliases are the engine's
//! ([`aliases`]); groups are the engine's grouped search ([`groups`]). Routes outside the subset that clients commonly call
//! (discover, recommend groups, facets, cluster) answer 400 "... is
//! not supported by NearStore". Collection and full-storage snapshots: [`snapshots`].

pub(crate) mod aliases;
pub(crate) mod answer;
pub(crate) mod collection_model;
pub(crate) mod collections;
pub(crate) mod filter;
pub(crate) mod groups;
pub(crate) mod ids;
pub(crate) mod model;
pub(crate) mod payload;
pub(crate) mod payload_select;
pub(crate) mod points;
pub(crate) mod quantization;
pub(crate) mod query;
pub(crate) mod query_plan;
pub(crate) mod recommend;
pub(crate) mod request;
pub(crate) mod schema;
pub(crate) mod snapshots;
pub(crate) mod text_index;
pub(crate) mod vector_edits;
pub(crate) mod vectors;

use nearstore::VectorCollection;

use crate::auth::Access::{Open, Read, Write};
use crate::error::Result;
use crate::routes::Verb::{Delete, Get, Patch, Post, Put};
use crate::routes::{Route, route};
use crate::state::AppState;

/// The collection a Qdrant route names: an over-long or empty name is 422 (Qdrant's
/// validation) before the lookup, an unknown one 404.
pub(crate) fn collection(state: &AppState, name: &str) -> Result<VectorCollection> {
    collections::check_name(name)?;
    state.collection(name)
}

const Q: &str = "qdrant";
const U: &str = "qdrant-unsupported";

/// The Qdrant routes.
pub(crate) fn routes() -> Vec<Route> {
    let mut routes = vec![
        route(
            Get,
            "/",
            Open,
            Q,
            "Server title and the Qdrant API version followed",
            collections::root,
        )
        .answers::<answer::Root>(),
        route(
            Get,
            "/collections",
            Read,
            Q,
            "List collections",
            collections::list,
        )
        .answers_qdrant::<answer::CollectionsResponse>(),
        route(
            Get,
            "/collections/{name}",
            Read,
            Q,
            "Collection info",
            collections::get,
        )
        .answers_qdrant::<answer::CollectionInfo>(),
        route(
            Put,
            "/collections/{name}",
            Write,
            Q,
            "Create a collection (the unnamed dense vector and named sparse vectors)",
            collections::create,
        )
        .takes::<collection_model::CreateCollection>()
        .answers_qdrant::<answer::Flag>(),
        route(
            Patch,
            "/collections/{name}",
            Write,
            Q,
            "Update collection parameters (only the search-time hnsw_config.ef)",
            collections::update,
        )
        .takes::<model::UpdateCollection>()
        .answers_qdrant::<answer::Flag>(),
        route(
            Delete,
            "/collections/{name}",
            Write,
            Q,
            "Delete a collection",
            collections::delete,
        )
        .answers_qdrant::<answer::Flag>(),
        route(
            Get,
            "/collections/{name}/exists",
            Read,
            Q,
            "Whether a collection exists",
            collections::exists,
        )
        .answers_qdrant::<answer::CollectionExistence>(),
        route(
            Put,
            "/collections/{name}/index",
            Write,
            Q,
            "Create a payload index (keyword, integer, float, bool, text)",
            collections::create_index,
        )
        .takes::<collection_model::CreateFieldIndex>()
        .answers_qdrant::<answer::UpdateResult>(),
        route(
            Delete,
            "/collections/{name}/index/{field}",
            Write,
            Q,
            "Delete a payload index",
            collections::delete_index,
        )
        .answers_qdrant::<answer::UpdateResult>(),
        route(
            Put,
            "/collections/{name}/points",
            Write,
            Q,
            "Upsert points ({points} or {batch})",
            points::upsert,
        )
        .takes::<model::UpsertPoints>()
        .answers_qdrant::<answer::UpdateResult>(),
        route(
            Post,
            "/collections/{name}/points",
            Read,
            Q,
            "Retrieve points by ids",
            points::retrieve,
        )
        .takes::<request::RetrievePoints>()
        .answers_qdrant::<answer::Records>(),
        route(
            Get,
            "/collections/{name}/points/{id}",
            Read,
            Q,
            "Retrieve one point",
            points::get_one,
        )
        .answers_qdrant::<answer::Record>(),
        route(
            Post,
            "/collections/{name}/points/delete",
            Write,
            Q,
            "Delete points by ids or filter",
            points::delete,
        )
        .takes::<model::PointsSelector>()
        .answers_qdrant::<answer::UpdateResult>(),
        route(
            Post,
            "/collections/{name}/points/batch",
            Write,
            Q,
            "Upserts, deletes, payload and vector operations applied in order",
            points::batch,
        )
        .takes::<model::UpdateBatch>()
        .answers_qdrant::<answer::UpdateResults>(),
        route(
            Put,
            "/collections/{name}/points/vectors",
            Write,
            Q,
            "Set some named dense or sparse vectors of existing points (the others untouched)",
            vector_edits::update,
        )
        .takes::<vector_edits::UpdateVectors>()
        .answers_qdrant::<answer::UpdateResult>(),
        route(
            Post,
            "/collections/{name}/points/vectors/delete",
            Write,
            Q,
            "Remove vectors by name from points chosen by ids or filter",
            vector_edits::delete,
        )
        .takes::<vector_edits::DeleteVectors>()
        .answers_qdrant::<answer::UpdateResult>(),
        route(
            Post,
            "/collections/{name}/points/payload",
            Write,
            Q,
            "Set payload keys (merge) of points by ids or filter",
            payload::set,
        )
        .takes::<payload::SetPayload>()
        .answers_qdrant::<answer::UpdateResult>(),
        route(
            Put,
            "/collections/{name}/points/payload",
            Write,
            Q,
            "Overwrite the payload of points by ids or filter",
            payload::overwrite,
        )
        .takes::<payload::SetPayload>()
        .answers_qdrant::<answer::UpdateResult>(),
        route(
            Post,
            "/collections/{name}/points/payload/delete",
            Write,
            Q,
            "Delete payload keys of points by ids or filter",
            payload::delete_keys,
        )
        .takes::<payload::DeletePayload>()
        .answers_qdrant::<answer::UpdateResult>(),
        route(
            Post,
            "/collections/{name}/points/payload/clear",
            Write,
            Q,
            "Clear the payload of points by ids or filter",
            payload::clear,
        )
        .takes::<model::PointsSelector>()
        .answers_qdrant::<answer::UpdateResult>(),
        route(
            Post,
            "/collections/{name}/points/scroll",
            Read,
            Q,
            "Scroll points",
            points::scroll,
        )
        .takes::<request::ScrollPoints>()
        .answers_qdrant::<answer::ScrollResult>(),
        route(
            Post,
            "/collections/{name}/points/count",
            Read,
            Q,
            "Count points",
            points::count,
        )
        .takes::<request::CountPoints>()
        .answers_qdrant::<answer::CountResult>(),
        route(
            Post,
            "/collections/{name}/points/search",
            Read,
            Q,
            "Vector search",
            query::search,
        )
        .takes::<request::SearchPoints>()
        .answers_qdrant::<answer::ScoredPoints>(),
        route(
            Post,
            "/collections/{name}/points/search/batch",
            Read,
            Q,
            "Batch vector search",
            query::search_batch,
        )
        .takes::<request::SearchBatch>()
        .answers_qdrant::<answer::ScoredPointsBatch>(),
        route(
            Post,
            "/collections/{name}/points/query",
            Read,
            Q,
            "Universal query (nearest vector or point id; recommend, average_vector; prefetch + fusion rrf | dbsf)",
            query::query,
        )
        .takes::<request::QueryPoints>()
        .answers_qdrant::<answer::QueryResponse>(),
        route(
            Post,
            "/collections/{name}/points/query/batch",
            Read,
            Q,
            "Batch universal query",
            query::query_batch,
        )
        .takes::<request::QueryBatch>()
        .answers_qdrant::<answer::QueryBatchResponse>(),
        route(
            Post,
            "/collections/{name}/points/recommend",
            Read,
            Q,
            "Recommend (average_vector strategy)",
            recommend::recommend,
        )
        .takes::<model::RecommendRequest>()
        .answers_qdrant::<answer::ScoredPoints>(),
        route(
            Post,
            "/collections/{name}/points/recommend/batch",
            Read,
            Q,
            "Batch recommend (average_vector strategy)",
            recommend::recommend_batch,
        )
        .takes::<model::RecommendBatch>()
        .answers_qdrant::<answer::ScoredPointsBatch>(),
        route(
            Post,
            "/collections/aliases",
            Write,
            Q,
            "Create, delete and rename aliases (applied in order, all or nothing)",
            aliases::update,
        )
        .takes::<aliases::ChangeAliases>()
        .answers_qdrant::<answer::Flag>(),
        route(
            Post,
            "/collections/{name}/points/search/groups",
            Read,
            Q,
            "Vector search grouped by a payload key (limit counts groups)",
            groups::search_groups,
        )
        .takes::<groups::SearchGroups>()
        .answers_qdrant::<groups::GroupsResult>(),
        route(
            Post,
            "/collections/{name}/points/query/groups",
            Read,
            Q,
            "Universal query grouped by a payload key (limit counts groups)",
            groups::query_groups,
        )
        .takes::<groups::QueryGroups>()
        .answers_qdrant::<groups::GroupsResult>(),
        route(Get, "/aliases", Read, Q, "Every alias", aliases::list)
            .answers_qdrant::<aliases::Aliases>(),
        route(
            Get,
            "/collections/{name}/aliases",
            Read,
            Q,
            "The aliases of a collection",
            aliases::of_collection,
        )
        .answers_qdrant::<aliases::Aliases>(),
    ];
    routes.extend(snapshot_routes());
    let unsupported: [(crate::routes::Verb, &'static str); 7] = [
        (Post, "/collections/{name}/points/recommend/groups"),
        (Post, "/collections/{name}/points/discover"),
        (Post, "/collections/{name}/points/discover/batch"),
        (Post, "/collections/{name}/points/search/matrix/pairs"),
        (Post, "/collections/{name}/points/search/matrix/offsets"),
        (Post, "/collections/{name}/points/facet"),
        (Get, "/cluster"),
    ];
    for (verb, path) in unsupported {
        routes.push(
            route(
                verb,
                path,
                Read,
                U,
                "Not supported: answers 400",
                query::unsupported,
            )
            .no_body(),
        );
    }
    routes
}

/// Qdrant's collection and full-storage snapshot routes ([`snapshots`]).
fn snapshot_routes() -> Vec<Route> {
    vec![
        route(
            Post,
            "/collections/{name}/snapshots",
            Write,
            Q,
            "Create a snapshot of the collection (one archive file)",
            snapshots::create,
        )
        .no_body()
        .answers_qdrant::<crate::snapshots::SnapshotDescription>(),
        route(
            Get,
            "/collections/{name}/snapshots",
            Read,
            Q,
            "List the collection's snapshots",
            snapshots::list,
        )
        .answers_qdrant::<Vec<crate::snapshots::SnapshotDescription>>(),
        route(
            Get,
            "/collections/{name}/snapshots/{snapshot_name}",
            Read,
            Q,
            "Download a snapshot archive (application/octet-stream)",
            snapshots::download,
        ),
        route(
            Delete,
            "/collections/{name}/snapshots/{snapshot_name}",
            Write,
            Q,
            "Delete a snapshot",
            snapshots::delete,
        )
        .answers_qdrant::<answer::Flag>(),
        route(
            Put,
            "/collections/{name}/snapshots/recover",
            Write,
            Q,
            "Recover the collection from a file:// snapshot inside the server's snapshot directory",
            snapshots::recover,
        )
        .takes::<snapshots::SnapshotRecover>()
        .answers_qdrant::<answer::Flag>(),
        route(
            Post,
            "/collections/{name}/snapshots/upload",
            Write,
            Q,
            "Recover the collection from an uploaded snapshot (multipart field `snapshot`; query priority=snapshot, checksum)",
            snapshots::upload,
        )
        .multipart_body()
        .answers_qdrant::<answer::Flag>(),
        route(
            Post,
            "/snapshots",
            Write,
            Q,
            "Create a snapshot of the whole database (one archive in the server's snapshot directory)",
            snapshots::create_full,
        )
        .no_body()
        .answers_qdrant::<crate::snapshots::SnapshotDescription>(),
        route(
            Get,
            "/snapshots",
            Read,
            Q,
            "List the whole-database snapshots",
            snapshots::list_full,
        )
        .answers_qdrant::<Vec<crate::snapshots::SnapshotDescription>>(),
        route(
            Get,
            "/snapshots/{snapshot_name}",
            Read,
            Q,
            "Download a whole-database snapshot archive (application/octet-stream)",
            snapshots::download_full,
        ),
        route(
            Delete,
            "/snapshots/{snapshot_name}",
            Write,
            Q,
            "Delete a whole-database snapshot",
            snapshots::delete_full,
        )
        .answers_qdrant::<answer::Flag>(),
    ]
}
