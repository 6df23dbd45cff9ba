SELECT * FROM docs WHERE similarity(vector, $v) >= 0.8 AND similarity(embedding, [1.0, 0.0]) < 0.2
