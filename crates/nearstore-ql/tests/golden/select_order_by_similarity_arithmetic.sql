SELECT * FROM docs WHERE vector NEAR $v ORDER BY similarity() * 0.7 + (1 - price / 100) * 0.3 DESC, similarity(vector, $q) LIMIT 10
