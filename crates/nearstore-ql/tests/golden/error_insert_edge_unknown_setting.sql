INSERT EDGE INTO kg (id = 1, src = 2)
