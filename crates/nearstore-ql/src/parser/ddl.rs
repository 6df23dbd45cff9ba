//! CREATE / DROP of collections and indexes.

use super::{Parser, Result};
use crate::ast::{
    CollectionKind, CollectionOptions, EdgeSchema, GraphSchema, NodeSchema, PropertyType, Statement,
};
use crate::token::TokenKind;

const BOTH_SCHEMA_CLAUSES: &str =
    "a graph collection is either SCHEMALESS or WITH SCHEMA (...), not both";

impl Parser<'_> {
    pub(super) fn ddl_statement(&mut self) -> Result<Statement> {
        if self.eat_keyword("DROP") {
            if self.eat_keyword("TEXT") {
                self.expect_keyword("INDEX")?;
                let (collection, field) = self.index_target()?;
                return Ok(Statement::DropTextIndex { collection, field });
            }
            if self.eat_keyword("INDEX") {
                let (collection, field) = self.index_target()?;
                return Ok(Statement::DropIndex { collection, field });
            }
            self.expect_keyword("COLLECTION")?;
            let if_exists = self.at_keyword("IF") && self.peek_is_keyword(1, "EXISTS");
            if if_exists {
                self.advance();
                self.advance();
            }
            return Ok(Statement::DropCollection {
                name: self.name()?,
                if_exists,
            });
        }
        self.expect_keyword("CREATE")?;
        if self.eat_keyword("TEXT") {
            self.expect_keyword("INDEX")?;
            let (collection, field) = self.index_target()?;
            let options = if self.eat_keyword("WITH") {
                self.option_list(false)?
            } else {
                Vec::new()
            };
            return Ok(Statement::CreateTextIndex {
                collection,
                field,
                options,
            });
        }
        if self.eat_keyword("INDEX") {
            let (collection, field) = self.index_target()?;
            let options = if self.eat_keyword("WITH") {
                self.option_list(false)?
            } else {
                Vec::new()
            };
            return Ok(Statement::CreateIndex {
                collection,
                field,
                options,
            });
        }
        let kind = if self.eat_keyword("GRAPH") {
            CollectionKind::Graph
        } else if self.eat_keyword("METADATA") {
            CollectionKind::Metadata
        } else {
            CollectionKind::Vector
        };
        self.expect_keyword("COLLECTION")?;
        let name = self.name()?;
        let options = if matches!(self.peek(), TokenKind::LParen) {
            self.collection_options()?
        } else {
            CollectionOptions::default()
        };
        let (mut with, mut schema, mut schemaless) = (None, None, false);
        loop {
            // `SCHEMALESS` is the default for a graph without `WITH SCHEMA`; the tree does not
            // keep it.
            let span = self.span();
            if kind == CollectionKind::Graph && !schemaless && self.eat_keyword("SCHEMALESS") {
                if schema.is_some() {
                    return Err(self.invalid(BOTH_SCHEMA_CLAUSES, span));
                }
                schemaless = true;
                continue;
            }
            if !self.eat_keyword("WITH") {
                break;
            }
            if schemaless && self.at_keyword("SCHEMA") {
                return Err(self.invalid(BOTH_SCHEMA_CLAUSES, self.span()));
            }
            if schema.is_none() && self.eat_keyword("SCHEMA") {
                schema = Some(self.graph_schema()?);
            } else if with.is_none() {
                with = Some(self.option_list(true)?);
            } else {
                return Err(self.unexpected());
            }
        }
        Ok(Statement::CreateCollection {
            kind,
            name,
            options,
            with: with.unwrap_or_default(),
            schema,
        })
    }

    /// `ON collection (field)`.
    fn index_target(&mut self) -> Result<(String, crate::ast::Path)> {
        self.expect_keyword("ON")?;
        let collection = self.name()?;
        self.expect(&TokenKind::LParen)?;
        let field = self.path()?;
        self.expect(&TokenKind::RParen)?;
        Ok((collection, field))
    }

    /// `(dimension = n, metric = 'cosine', ...)`: known settings typed, at most once each.
    fn collection_options(&mut self) -> Result<CollectionOptions> {
        self.expect(&TokenKind::LParen)?;
        let mut options = CollectionOptions::default();
        if self.eat(&TokenKind::RParen) {
            return Ok(options);
        }
        loop {
            let key_span = self.span();
            let key = self.any_name()?;
            self.expect(&TokenKind::Eq)?;
            let lower = key.to_ascii_lowercase();
            let duplicate = match lower.as_str() {
                "dimension" => options
                    .dimension
                    .replace(self.unsigned("dimension")?)
                    .is_some(),
                "m" => options.m.replace(self.unsigned("m")?).is_some(),
                "ef_construction" => options
                    .ef_construction
                    .replace(self.unsigned("ef_construction")?)
                    .is_some(),
                "metric" => options.metric.replace(self.word_or_string()?).is_some(),
                "storage" => options.storage.replace(self.word_or_string()?).is_some(),
                _ => {
                    options.other.push((key, self.expr()?));
                    false
                }
            };
            if duplicate {
                return Err(self.invalid(format!("option `{lower}` is given twice"), key_span));
            }
            if !self.eat(&TokenKind::Comma) {
                break;
            }
        }
        self.expect(&TokenKind::RParen)?;
        Ok(options)
    }

    /// A string literal or a bare word, as text.
    fn word_or_string(&mut self) -> Result<String> {
        if let TokenKind::Word(w) = self.peek().clone() {
            self.advance();
            return Ok(w);
        }
        self.note("word");
        self.string_literal()
    }

    /// After `WITH SCHEMA`: `(NODE T (p: TYPE, ...), EDGE E FROM A TO B, ...)`.
    fn graph_schema(&mut self) -> Result<GraphSchema> {
        self.expect(&TokenKind::LParen)?;
        let mut schema = GraphSchema::default();
        loop {
            if self.eat_keyword("NODE") {
                let label = self.any_name()?;
                let mut properties = Vec::new();
                if self.eat(&TokenKind::LParen) && !self.eat(&TokenKind::RParen) {
                    loop {
                        let property = self.any_name()?;
                        self.expect(&TokenKind::Colon)?;
                        properties.push((property, self.property_type()?));
                        if !self.eat(&TokenKind::Comma) {
                            break;
                        }
                    }
                    self.expect(&TokenKind::RParen)?;
                }
                schema.nodes.push(NodeSchema { label, properties });
            } else if self.eat_keyword("EDGE") {
                let label = self.any_name()?;
                self.expect_keyword("FROM")?;
                let from = self.any_name()?;
                self.expect_keyword("TO")?;
                let to = self.any_name()?;
                schema.edges.push(EdgeSchema { label, from, to });
            } else {
                return Err(self.unexpected());
            }
            if !self.eat(&TokenKind::Comma) {
                break;
            }
        }
        self.expect(&TokenKind::RParen)?;
        Ok(schema)
    }

    fn property_type(&mut self) -> Result<PropertyType> {
        for (keyword, ty) in [
            ("STRING", PropertyType::String),
            ("INTEGER", PropertyType::Integer),
            ("FLOAT", PropertyType::Float),
            ("BOOLEAN", PropertyType::Boolean),
            ("VECTOR", PropertyType::Vector),
        ] {
            if self.eat_keyword(keyword) {
                return Ok(ty);
            }
        }
        Err(self.unexpected())
    }
}
