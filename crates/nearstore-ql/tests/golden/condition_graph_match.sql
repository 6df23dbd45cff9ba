SELECT * FROM docs WHERE MATCH (d:Doc)-[:CITES]->(o:Doc {year: 2020}) AND vector NEAR $v
