INSERT EDGE INTO kg (label = $l, target = 3, id = $id, source = 2)
