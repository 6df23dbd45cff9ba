MATCH (a:Person)-[:KNOWS]->(b), (b)-[:WORKS_AT]->(c:Company), (c)<-[:OWNS*1..2]-(d) WHERE a.age > 30 RETURN a.name, c.name
