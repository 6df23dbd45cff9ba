MATCH ()-[]->(:Label)-[r]-({k: 1}) RETURN r
