//! Printing scripts and statements.

use std::fmt;

use super::{DottedPath, Ident, Quoted, comma_separated, option_list};
use crate::ast::{
    CollectionKind, CollectionOptions, Expr, GraphSchema, Let, PropertyType, Script, Statement,
};

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for binding in &self.lets {
            write!(f, "{binding} ")?;
        }
        write!(f, "{}", self.statement)
    }
}

impl fmt::Display for Let {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LET {} = {}", Ident(&self.name), self.value)
    }
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statement::Select(query) => write!(f, "{query}"),
            Statement::Compound(query) => write!(f, "{query}"),
            Statement::Match(query) => write!(f, "{query}"),
            Statement::CreateCollection {
                kind,
                name,
                options,
                with,
                schema,
            } => {
                let kind_word = match kind {
                    CollectionKind::Vector => "",
                    CollectionKind::Graph => "GRAPH ",
                    CollectionKind::Metadata => "METADATA ",
                };
                write!(f, "CREATE {kind_word}COLLECTION {}{options}", Ident(name))?;
                if !with.is_empty() {
                    f.write_str(" WITH ")?;
                    option_list(f, with)?;
                }
                match schema {
                    Some(schema) => write!(f, " WITH SCHEMA {schema}")?,
                    None if *kind == CollectionKind::Graph => f.write_str(" SCHEMALESS")?,
                    None => {}
                }
                Ok(())
            }
            Statement::DropCollection { name, if_exists } => {
                let if_exists = if *if_exists { "IF EXISTS " } else { "" };
                write!(f, "DROP COLLECTION {if_exists}{}", Ident(name))
            }
            Statement::CreateIndex {
                collection,
                field,
                options,
            } => {
                write!(
                    f,
                    "CREATE INDEX ON {} ({})",
                    Ident(collection),
                    DottedPath(field)
                )?;
                if !options.is_empty() {
                    f.write_str(" WITH ")?;
                    option_list(f, options)?;
                }
                Ok(())
            }
            Statement::DropIndex { collection, field } => {
                write!(
                    f,
                    "DROP INDEX ON {} ({})",
                    Ident(collection),
                    DottedPath(field)
                )
            }
            Statement::CreateTextIndex {
                collection,
                field,
                options,
            } => {
                write!(
                    f,
                    "CREATE TEXT INDEX ON {} ({})",
                    Ident(collection),
                    DottedPath(field)
                )?;
                if !options.is_empty() {
                    f.write_str(" WITH ")?;
                    option_list(f, options)?;
                }
                Ok(())
            }
            Statement::DropTextIndex { collection, field } => {
                write!(
                    f,
                    "DROP TEXT INDEX ON {} ({})",
                    Ident(collection),
                    DottedPath(field)
                )
            }
            Statement::Insert {
                upsert,
                table,
                columns,
                rows,
            } => {
                let verb = if *upsert { "UPSERT" } else { "INSERT" };
                write!(f, "{verb} INTO {} (", Ident(table))?;
                comma_separated(f, columns, |f, c| write!(f, "{}", Ident(c)))?;
                f.write_str(") VALUES ")?;
                comma_separated(f, rows, |f, row| {
                    f.write_str("(")?;
                    comma_separated(f, row, |f, v| write!(f, "{v}"))?;
                    f.write_str(")")
                })
            }
            Statement::Update {
                table,
                assignments,
                filter,
            } => {
                write!(f, "UPDATE {} SET ", Ident(table))?;
                comma_separated(f, assignments, |f, a| {
                    write!(f, "{} = {}", DottedPath(&a.path), a.value)
                })?;
                if let Some(filter) = filter {
                    write!(f, " WHERE {filter}")?;
                }
                Ok(())
            }
            Statement::Delete { table, filter } => {
                write!(f, "DELETE FROM {} WHERE {filter}", Ident(table))
            }
            Statement::InsertEdge {
                graph,
                id,
                source,
                target,
                label,
                properties,
            } => {
                write!(
                    f,
                    "INSERT EDGE INTO {} (id = {id}, source = {source}, target = {target}, \
                     label = {label})",
                    Ident(graph)
                )?;
                if !properties.is_empty() {
                    f.write_str(" WITH PROPERTIES ")?;
                    option_list(f, properties)?;
                }
                Ok(())
            }
            Statement::DeleteEdge { graph, id } => {
                write!(f, "DELETE EDGE {id} FROM {}", Ident(graph))
            }
            Statement::SelectEdges {
                graph,
                filter,
                limit,
            } => {
                write!(f, "SELECT EDGES FROM {}", Ident(graph))?;
                if let Some(filter) = filter {
                    write!(f, " WHERE {filter}")?;
                }
                if let Some(limit) = limit {
                    write!(f, " LIMIT {limit}")?;
                }
                Ok(())
            }
            Statement::InsertNode { graph, id, payload } => {
                write!(f, "INSERT NODE INTO {} (id = {id}", Ident(graph))?;
                if let Some(payload) = payload {
                    write!(f, ", payload = {payload}")?;
                }
                f.write_str(")")
            }
            Statement::ShowCollections => f.write_str("SHOW COLLECTIONS"),
            Statement::Describe { name } => write!(f, "DESCRIBE COLLECTION {}", Ident(name)),
            Statement::Explain { analyze, statement } => {
                let analyze = if *analyze { "ANALYZE " } else { "" };
                write!(f, "EXPLAIN {analyze}{statement}")
            }
            Statement::Analyze { name } => write!(f, "ANALYZE COLLECTION {}", Ident(name)),
            Statement::Truncate { name } => write!(f, "TRUNCATE COLLECTION {}", Ident(name)),
            Statement::AlterCollection { name, options } => {
                write!(f, "ALTER COLLECTION {} SET ", Ident(name))?;
                option_list(f, options)
            }
            Statement::Flush { full, name } => {
                f.write_str("FLUSH")?;
                if *full {
                    f.write_str(" FULL")?;
                }
                if let Some(name) = name {
                    write!(f, " {}", Ident(name))?;
                }
                Ok(())
            }
            Statement::TrainQuantizer {
                collection,
                options,
            } => {
                write!(f, "TRAIN QUANTIZER ON {} WITH ", Ident(collection))?;
                option_list(f, options)
            }
        }
    }
}

/// ` (dimension = .., metric = '..', storage = '..', m = .., ef_construction = .., others)`
/// with its leading space, or nothing when no setting is given.
impl fmt::Display for CollectionOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut settings: Vec<(String, String)> = Vec::new();
        if let Some(n) = self.dimension {
            settings.push(("dimension".into(), n.to_string()));
        }
        if let Some(metric) = &self.metric {
            settings.push(("metric".into(), Quoted(metric).to_string()));
        }
        if let Some(storage) = &self.storage {
            settings.push(("storage".into(), Quoted(storage).to_string()));
        }
        if let Some(n) = self.m {
            settings.push(("m".into(), n.to_string()));
        }
        if let Some(n) = self.ef_construction {
            settings.push(("ef_construction".into(), n.to_string()));
        }
        for (key, value) in &self.other {
            settings.push((Ident(key).to_string(), Expr::to_string(value)));
        }
        if settings.is_empty() {
            return Ok(());
        }
        f.write_str(" (")?;
        comma_separated(f, &settings, |f, (key, value)| write!(f, "{key} = {value}"))?;
        f.write_str(")")
    }
}

impl fmt::Display for GraphSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        let mut first = true;
        for node in &self.nodes {
            if !std::mem::take(&mut first) {
                f.write_str(", ")?;
            }
            write!(f, "NODE {}", Ident(&node.label))?;
            if !node.properties.is_empty() {
                f.write_str(" (")?;
                comma_separated(f, &node.properties, |f, (name, ty)| {
                    write!(f, "{}: {ty}", Ident(name))
                })?;
                f.write_str(")")?;
            }
        }
        for edge in &self.edges {
            if !std::mem::take(&mut first) {
                f.write_str(", ")?;
            }
            write!(
                f,
                "EDGE {} FROM {} TO {}",
                Ident(&edge.label),
                Ident(&edge.from),
                Ident(&edge.to)
            )?;
        }
        f.write_str(")")
    }
}

impl fmt::Display for PropertyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PropertyType::String => "STRING",
            PropertyType::Integer => "INTEGER",
            PropertyType::Float => "FLOAT",
            PropertyType::Boolean => "BOOLEAN",
            PropertyType::Vector => "VECTOR",
        })
    }
}
