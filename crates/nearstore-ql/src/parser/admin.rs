//! Administrative statements: SHOW, DESCRIBE, EXPLAIN, ANALYZE, TRUNCATE, ALTER, FLUSH,
//! TRAIN QUANTIZER.

use super::{Parser, Result};
use crate::ast::Statement;
use crate::token::Span;

impl Parser<'_> {
    pub(super) fn admin_statement(&mut self) -> Result<Statement> {
        if self.eat_keyword("SHOW") {
            self.expect_keyword("COLLECTIONS")?;
            return Ok(Statement::ShowCollections);
        }
        if self.eat_keyword("DESCRIBE") {
            self.skip_optional_collection_keyword();
            return Ok(Statement::Describe { name: self.name()? });
        }
        if self.eat_keyword("EXPLAIN") {
            return self.explain();
        }
        if self.eat_keyword("ANALYZE") {
            self.skip_optional_collection_keyword();
            return Ok(Statement::Analyze { name: self.name()? });
        }
        if self.eat_keyword("TRUNCATE") {
            self.skip_optional_collection_keyword();
            return Ok(Statement::Truncate { name: self.name()? });
        }
        if self.eat_keyword("ALTER") {
            self.expect_keyword("COLLECTION")?;
            let name = self.name()?;
            self.expect_keyword("SET")?;
            return Ok(Statement::AlterCollection {
                name,
                options: self.option_list(false)?,
            });
        }
        if self.eat_keyword("FLUSH") {
            let full = self.eat_keyword("FULL");
            let name = if self.at_name() {
                Some(self.name()?)
            } else {
                None
            };
            return Ok(Statement::Flush { full, name });
        }
        self.expect_keyword("TRAIN")?;
        self.expect_keyword("QUANTIZER")?;
        self.expect_keyword("ON")?;
        let collection = self.name()?;
        self.expect_keyword("WITH")?;
        Ok(Statement::TrainQuantizer {
            collection,
            options: self.option_list(false)?,
        })
    }

    /// After `EXPLAIN`: `[ANALYZE]` and a SELECT, compound, MATCH, UPDATE or DELETE.
    fn explain(&mut self) -> Result<Statement> {
        let analyze = self.eat_keyword("ANALYZE");
        let start = self.span();
        let statement = self.nested(|p| p.statement())?;
        let explainable = matches!(
            statement,
            Statement::Select(_)
                | Statement::Compound(_)
                | Statement::Match(_)
                | Statement::SelectEdges { .. }
                | Statement::Update { .. }
                | Statement::Delete { .. }
        );
        if !explainable {
            let span = Span {
                start: start.start,
                end: start.end,
            };
            return Err(self.error_at(
                crate::ParseErrorKind::Syntax,
                "EXPLAIN takes a SELECT, MATCH, UPDATE or DELETE statement",
                span,
            ));
        }
        Ok(Statement::Explain {
            analyze,
            statement: Box::new(statement),
        })
    }
}
