MATCH (n:Person|Company:Active {name: 'Acme'})-[r:KNOWS|LIKES]-(m:A|B|C) RETURN n, m
