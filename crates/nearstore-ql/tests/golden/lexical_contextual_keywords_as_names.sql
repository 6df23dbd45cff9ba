SELECT vector, id, source, target, label, count, collection, index, node, edge, graph, similarity FROM collection WHERE count = 1 AND similarity > 0.5
