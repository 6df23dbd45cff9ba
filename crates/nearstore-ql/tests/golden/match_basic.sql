MATCH (a:Person)-[:KNOWS]->(b:Person) RETURN a, b.name
