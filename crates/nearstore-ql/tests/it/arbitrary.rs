//! Strategies generating every kind of AST node the parser can produce (within the
//! invariants documented on the AST: n-ary And/Or without directly nested And/Or, typed
//! collection options, rows as long as the column list, ...).

use nearstore_ql::ast::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

/// Names: plain words, reserved words, contextual keywords and names needing quotes.
pub fn name() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[a-z_][a-z0-9_]{0,6}",
        1 => prop::sample::select(vec![
            "select", "Order", "from", "vector", "id", "count", "collection", "full", "if",
            "edges", "similarity", "now", "interval", "null", "match", "geo_distance", "édition",
        ])
        .prop_map(str::to_string),
        1 => "[^\u{0}]{1,6}",
        1 => "[a-z]{1,3}[\" `'.-]{1,2}[a-z]{0,2}",
    ]
    .boxed()
}

fn param_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,5}"
}

pub fn path() -> impl Strategy<Value = Path> {
    vec(name(), 1..=3)
}

fn finite_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        -1000.0..1000.0f64
    ]
}

fn finite_f32() -> impl Strategy<Value = f32> {
    any::<f32>().prop_filter("finite", |f| f.is_finite())
}

pub fn vector_expr() -> impl Strategy<Value = VectorExpr> {
    prop_oneof![
        param_name().prop_map(VectorExpr::Param),
        vec(finite_f32(), 1..4).prop_map(VectorExpr::Literal),
    ]
}

fn sparse_vector_expr() -> impl Strategy<Value = SparseVectorExpr> {
    prop_oneof![
        param_name().prop_map(SparseVectorExpr::Param),
        vec((any::<u32>(), finite_f32()), 0..4).prop_map(SparseVectorExpr::Literal),
    ]
}

fn leaf_expr() -> BoxedStrategy<Expr> {
    prop_oneof![
        any::<i64>().prop_map(Expr::Integer),
        ((i64::MAX as u64 + 1)..=u64::MAX).prop_map(Expr::Unsigned),
        finite_f64().prop_map(Expr::Float),
        any::<String>().prop_map(Expr::String),
        any::<bool>().prop_map(Expr::Bool),
        Just(Expr::Null),
        param_name().prop_map(Expr::Param),
        Just(Expr::Now),
        any::<String>().prop_map(Expr::Interval),
        path().prop_map(Expr::Path),
        Just(Expr::Similarity(None)),
        (path(), vector_expr())
            .prop_map(|(field, vector)| Expr::Similarity(Some(SimilarityArgs { field, vector }))),
        aggregate(),
    ]
    .boxed()
}

fn aggregate() -> impl Strategy<Value = Expr> {
    let function = prop::sample::select(vec![
        AggregateFunction::Count,
        AggregateFunction::Sum,
        AggregateFunction::Avg,
        AggregateFunction::Min,
        AggregateFunction::Max,
        AggregateFunction::First,
    ]);
    (function, path(), any::<bool>()).prop_map(|(function, path, star)| Expr::Aggregate {
        function,
        argument: if star && function == AggregateFunction::Count {
            AggregateArgument::Star
        } else {
            AggregateArgument::Path(path)
        },
    })
}

fn binary_op() -> impl Strategy<Value = BinaryOp> {
    prop::sample::select(vec![
        BinaryOp::Add,
        BinaryOp::Subtract,
        BinaryOp::Multiply,
        BinaryOp::Divide,
    ])
}

/// Values and arithmetic, with `depth` levels of composite nodes at most.
pub fn expr(depth: u32) -> BoxedStrategy<Expr> {
    if depth == 0 {
        return leaf_expr();
    }
    let inner = expr(depth - 1);
    let window_function = prop::sample::select(vec![
        WindowFunction::RowNumber,
        WindowFunction::Rank,
        WindowFunction::DenseRank,
    ]);
    prop_oneof![
        4 => leaf_expr(),
        1 => vec(inner.clone(), 0..3).prop_map(Expr::List),
        2 => (binary_op(), inner.clone(), inner.clone()).prop_map(|(op, lhs, rhs)| Expr::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs)
        }),
        1 => inner.clone().prop_map(|e| Expr::Negate(Box::new(e))),
        1 => (window_function, vec(path(), 0..2), vec(order_item(depth - 1), 0..2)).prop_map(
            |(function, partition_by, order_by)| Expr::Window { function, partition_by, order_by }
        ),
        1 => select_query(depth - 1).prop_map(|q| Expr::Subquery(Box::new(q))),
    ]
    .boxed()
}

fn order_item(depth: u32) -> impl Strategy<Value = OrderItem> {
    (expr(depth), any::<bool>()).prop_map(|(expr, descending)| OrderItem { expr, descending })
}

fn compare_op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::NotEq,
        CompareOp::Lt,
        CompareOp::LtEq,
        CompareOp::Gt,
        CompareOp::GtEq,
    ])
}

fn text_value() -> impl Strategy<Value = Expr> {
    prop_oneof![
        any::<String>().prop_map(Expr::String),
        param_name().prop_map(Expr::Param)
    ]
}

fn options(depth: u32, range: std::ops::Range<usize>) -> impl Strategy<Value = OptionList> {
    vec((name(), expr(depth)), range)
}

fn fusion_params(depth: u32) -> impl Strategy<Value = OptionList> {
    vec(
        (
            name().prop_filter("not strategy", |n| !n.eq_ignore_ascii_case("strategy")),
            expr(depth),
        ),
        0..3,
    )
}

fn predicate(depth: u32) -> BoxedStrategy<Condition> {
    let e = || expr(depth);
    let left = prop_oneof![
        path().prop_map(Expr::Path),
        aggregate(),
        Just(Expr::Similarity(None))
    ];
    prop_oneof![
        (path(), vector_expr()).prop_map(|(field, vector)| Condition::VectorNear { field, vector }),
        (
            path(),
            vec(vector_expr(), 1..3),
            option::of(("[a-z]{1,8}", fusion_params(depth)))
        )
            .prop_map(|(field, vectors, fusion)| Condition::VectorNearFused {
                field,
                vectors,
                fusion: fusion.map(|(s, params)| FusionClause {
                    strategy: Some(s),
                    params
                }),
            }),
        (path(), sparse_vector_expr(), option::of(any::<String>())).prop_map(
            |(field, vector, index)| Condition::SparseNear {
                field,
                vector,
                index
            }
        ),
        (path(), vector_expr(), compare_op(), e()).prop_map(|(field, vector, op, value)| {
            Condition::SimilarityThreshold {
                field,
                vector,
                op,
                value,
            }
        }),
        (option::of(path()), text_value())
            .prop_map(|(field, text)| Condition::TextMatch { field, text }),
        (left, compare_op(), e()).prop_map(|(left, op, right)| Condition::Compare {
            left,
            op,
            right
        }),
        (path(), any::<bool>(), vec(e(), 1..3)).prop_map(|(path, negated, values)| Condition::In {
            path,
            negated,
            values
        }),
        (path(), e(), e()).prop_map(|(path, low, high)| Condition::Between { path, low, high }),
        (path(), any::<bool>(), any::<bool>(), text_value()).prop_map(
            |(path, negated, case_insensitive, pattern)| Condition::Like {
                path,
                negated,
                case_insensitive,
                pattern
            }
        ),
        (path(), any::<bool>()).prop_map(|(path, negated)| Condition::IsNull { path, negated }),
        (path(), e()).prop_map(|(path, value)| Condition::Contains { path, value }),
        (path(), vec(e(), 1..3)).prop_map(|(path, values)| Condition::ContainsAny { path, values }),
        (path(), vec(e(), 1..3)).prop_map(|(path, values)| Condition::ContainsAll { path, values }),
        (path(), text_value()).prop_map(|(path, text)| Condition::ContainsText { path, text }),
        (path(), e(), e(), compare_op(), e()).prop_map(|(path, lat, lon, op, meters)| {
            Condition::GeoDistance {
                path,
                lat,
                lon,
                op,
                meters,
            }
        }),
        (path(), e(), e(), e(), e()).prop_map(|(path, lat_min, lon_min, lat_max, lon_max)| {
            Condition::GeoBbox {
                path,
                lat_min,
                lon_min,
                lat_max,
                lon_max,
            }
        }),
        graph_pattern(depth).prop_map(Condition::GraphMatch),
    ]
    .boxed()
}

/// Conditions the parser can produce: And parts are never And/Or, Or parts never Or, Not
/// never directly over And/Or (those would be Groups).
pub fn condition(depth: u32) -> BoxedStrategy<Condition> {
    if depth == 0 {
        return predicate(0);
    }
    let inner = condition(depth - 1);
    let not_and_or = inner.clone().prop_filter("no bare And/Or", |c| {
        !matches!(c, Condition::And(_) | Condition::Or(_))
    });
    let not_or = inner
        .clone()
        .prop_filter("no bare Or", |c| !matches!(c, Condition::Or(_)));
    prop_oneof![
        3 => predicate(depth - 1),
        1 => vec(not_and_or.clone(), 2..4).prop_map(Condition::And),
        1 => vec(not_or, 2..4).prop_map(Condition::Or),
        1 => not_and_or.prop_map(|c| Condition::Not(Box::new(c))),
        1 => inner.prop_map(|c| Condition::Group(Box::new(c))),
    ]
    .boxed()
}

fn node_pattern(depth: u32) -> impl Strategy<Value = NodePattern> {
    (
        option::of(name()),
        vec(name(), 0..3),
        vec(vec(name(), 2..4), 0..3),
        option::of(name()),
        options(depth, 0..2),
    )
        .prop_map(
            |(alias, labels, label_alternatives, collection, properties)| NodePattern {
                alias,
                labels,
                label_alternatives,
                collection,
                properties,
            },
        )
}

/// Ranges the parser accepts: a minimum above the maximum is refused where written.
fn hop_range() -> impl Strategy<Value = HopRange> {
    (option::of(any::<u32>()), option::of(any::<u32>())).prop_map(|(min, max)| match (min, max) {
        (Some(lo), Some(hi)) if lo > hi => HopRange {
            min: Some(hi),
            max: Some(lo),
        },
        _ => HopRange { min, max },
    })
}

fn relationship(depth: u32) -> impl Strategy<Value = RelationshipPattern> {
    let direction = prop::sample::select(vec![
        Direction::Outgoing,
        Direction::Incoming,
        Direction::Undirected,
    ]);
    (
        option::of(name()),
        vec(name(), 0..3),
        direction,
        option::of(hop_range()),
        options(depth, 0..2),
    )
        .prop_map(
            |(alias, types, direction, length, properties)| RelationshipPattern {
                alias,
                types,
                direction,
                length,
                properties,
            },
        )
}

pub fn graph_pattern(depth: u32) -> impl Strategy<Value = GraphPattern> {
    let hop = (relationship(depth), node_pattern(depth))
        .prop_map(|(relationship, node)| Hop { relationship, node });
    (node_pattern(depth), vec(hop, 0..3)).prop_map(|(start, hops)| GraphPattern { start, hops })
}

fn select_item(depth: u32) -> impl Strategy<Value = SelectItem> {
    prop_oneof![
        Just(SelectItem::Wildcard),
        name().prop_map(SelectItem::QualifiedWildcard),
        (expr(depth), option::of(name()))
            .prop_map(|(expr, alias)| SelectItem::Expr { expr, alias }),
    ]
}

fn table_ref() -> impl Strategy<Value = TableRef> {
    (name(), option::of(name())).prop_map(|(name, alias)| TableRef { name, alias })
}

fn join() -> impl Strategy<Value = Join> {
    let kind = prop::sample::select(vec![
        JoinKind::Inner,
        JoinKind::Left,
        JoinKind::Right,
        JoinKind::Full,
    ]);
    let on = prop_oneof![
        (path(), path()).prop_map(|(l, r)| JoinCondition::On(l, r)),
        vec(name(), 1..3).prop_map(JoinCondition::Using),
    ];
    (kind, table_ref(), on).prop_map(|(kind, table, on)| Join { kind, table, on })
}

pub fn select_query(depth: u32) -> BoxedStrategy<SelectQuery> {
    let fusion = (option::of("[a-z]{1,8}"), fusion_params(depth))
        .prop_map(|(strategy, params)| FusionClause { strategy, params });
    (
        (
            any::<bool>(),
            vec(select_item(depth), 1..3),
            table_ref(),
            vec(join(), 0..2),
        ),
        (
            option::of(condition(depth)),
            vec(path(), 0..2),
            option::of(condition(depth)),
        ),
        (
            vec(order_item(depth), 0..2),
            option::of(any::<u64>()),
            option::of(any::<u64>()),
        ),
        (options(depth, 0..2), option::of(fusion)),
    )
        .prop_map(
            |(
                (distinct, items, from, joins),
                (filter, group_by, having),
                (order_by, limit, offset),
                (with_options, fusion),
            )| SelectQuery {
                distinct,
                items,
                from,
                joins,
                filter,
                group_by,
                having,
                order_by,
                limit,
                offset,
                with_options,
                fusion,
            },
        )
        .boxed()
}

fn set_operator() -> impl Strategy<Value = SetOperator> {
    prop::sample::select(vec![
        SetOperator::Union,
        SetOperator::UnionAll,
        SetOperator::Intersect,
        SetOperator::Except,
    ])
}

fn match_query(depth: u32) -> impl Strategy<Value = MatchQuery> {
    let item = prop_oneof![
        Just(SelectItem::Wildcard),
        (expr(depth), option::of(name()))
            .prop_map(|(expr, alias)| SelectItem::Expr { expr, alias }),
    ];
    (
        graph_pattern(depth),
        vec(graph_pattern(depth), 0..3),
        option::of(condition(depth)),
        vec(item, 1..3),
        vec(order_item(depth), 0..2),
        option::of(any::<u64>()),
    )
        .prop_map(
            |(pattern, further_parts, filter, returns, order_by, limit)| MatchQuery {
                pattern,
                further_parts,
                filter,
                returns,
                order_by,
                limit,
            },
        )
}

fn collection_options(depth: u32) -> impl Strategy<Value = CollectionOptions> {
    let known = ["dimension", "metric", "storage", "m", "ef_construction"];
    let other = vec(
        (
            name().prop_filter("not a typed option", move |n| {
                !known.iter().any(|k| k.eq_ignore_ascii_case(n))
            }),
            expr(depth),
        ),
        0..2,
    );
    (
        option::of(any::<u64>()),
        option::of(any::<String>()),
        option::of(any::<String>()),
        option::of(any::<u64>()),
        option::of(any::<u64>()),
        other,
    )
        .prop_map(|(dimension, metric, storage, m, ef_construction, other)| {
            CollectionOptions {
                dimension,
                metric,
                storage,
                m,
                ef_construction,
                other,
            }
        })
}

fn graph_schema() -> impl Strategy<Value = GraphSchema> {
    let ty = prop::sample::select(vec![
        PropertyType::String,
        PropertyType::Integer,
        PropertyType::Float,
        PropertyType::Boolean,
        PropertyType::Vector,
    ]);
    let node = (name(), vec((name(), ty), 0..3))
        .prop_map(|(label, properties)| NodeSchema { label, properties });
    let edge =
        (name(), name(), name()).prop_map(|(label, from, to)| EdgeSchema { label, from, to });
    (vec(node, 0..3), vec(edge, 0..3))
        .prop_filter("non-empty schema", |(n, e)| !n.is_empty() || !e.is_empty())
        .prop_map(|(nodes, edges)| GraphSchema { nodes, edges })
}

fn insert(depth: u32) -> impl Strategy<Value = Statement> {
    (any::<bool>(), name(), 1..4usize, 1..3usize)
        .prop_flat_map(move |(upsert, table, width, height)| {
            (
                Just(upsert),
                Just(table),
                vec(name(), width),
                vec(vec(expr(depth), width), height),
            )
        })
        .prop_map(|(upsert, table, columns, rows)| Statement::Insert {
            upsert,
            table,
            columns,
            rows,
        })
}

fn explainable(depth: u32) -> BoxedStrategy<Statement> {
    prop_oneof![
        select_query(depth).prop_map(Statement::Select),
        (
            select_query(depth),
            vec((set_operator(), select_query(depth)), 1..3)
        )
            .prop_map(|(first, rest)| Statement::Compound(CompoundQuery { first, rest })),
        match_query(depth).prop_map(Statement::Match),
        (
            name(),
            vec(
                (path(), expr(depth)).prop_map(|(path, value)| Assignment { path, value }),
                1..3
            ),
            option::of(condition(depth))
        )
            .prop_map(|(table, assignments, filter)| Statement::Update {
                table,
                assignments,
                filter
            }),
        (name(), condition(depth)).prop_map(|(table, filter)| Statement::Delete { table, filter }),
        (
            name(),
            option::of(condition(depth)),
            option::of(any::<u64>())
        )
            .prop_map(|(graph, filter, limit)| Statement::SelectEdges {
                graph,
                filter,
                limit
            }),
    ]
    .boxed()
}

pub fn statement(depth: u32) -> BoxedStrategy<Statement> {
    let kind = prop::sample::select(vec![
        CollectionKind::Vector,
        CollectionKind::Graph,
        CollectionKind::Metadata,
    ]);
    let payload = option::of(prop_oneof![
        param_name().prop_map(Expr::Param),
        prop::sample::select(vec!["{}", "{\"a\": 1}", "{\"it's\": [true, null]}"])
            .prop_map(|s| Expr::String(s.into())),
    ]);
    prop_oneof![
        6 => explainable(depth),
        1 => (kind, name(), collection_options(depth), options(depth, 0..2), option::of(graph_schema()))
            .prop_map(|(kind, name, options, with, schema)| Statement::CreateCollection { kind, name, options, with, schema }),
        1 => (name(), any::<bool>()).prop_map(|(name, if_exists)| Statement::DropCollection { name, if_exists }),
        1 => (name(), path(), options(depth, 0..2)).prop_map(|(collection, field, options)| Statement::CreateIndex { collection, field, options }),
        1 => (name(), path()).prop_map(|(collection, field)| Statement::DropIndex { collection, field }),
        1 => insert(depth),
        1 => (name(), expr(depth), expr(depth), expr(depth), expr(depth), options(depth, 0..2)).prop_map(
            |(graph, id, source, target, label, properties)| Statement::InsertEdge { graph, id, source, target, label, properties }
        ),
        1 => (name(), expr(depth)).prop_map(|(graph, id)| Statement::DeleteEdge { graph, id }),
        1 => (name(), expr(depth), payload).prop_map(|(graph, id, payload)| Statement::InsertNode { graph, id, payload }),
        1 => Just(Statement::ShowCollections),
        1 => name().prop_map(|name| Statement::Describe { name }),
        1 => (any::<bool>(), explainable(depth)).prop_map(|(analyze, s)| Statement::Explain { analyze, statement: Box::new(s) }),
        1 => name().prop_map(|name| Statement::Analyze { name }),
        1 => name().prop_map(|name| Statement::Truncate { name }),
        1 => (name(), options(depth, 1..3)).prop_map(|(name, options)| Statement::AlterCollection { name, options }),
        1 => (any::<bool>(), option::of(name())).prop_map(|(full, name)| Statement::Flush { full, name }),
        1 => (name(), options(depth, 1..3)).prop_map(|(collection, options)| Statement::TrainQuantizer { collection, options }),
    ]
    .boxed()
}

pub fn script() -> impl Strategy<Value = Script> {
    let binding = (name(), expr(2)).prop_map(|(name, value)| Let { name, value });
    (vec(binding, 0..3), statement(2)).prop_map(|(lets, statement)| Script { lets, statement })
}
