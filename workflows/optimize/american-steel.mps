* American Steel (american-steel.mod) exported to free MPS by GLPK:
*   glpsol -m american-steel.mod --check --wfreemps american-steel.mps
* Problem:    american
* Class:      MIP
* Rows:       10
* Columns:    14 (14 integer, 0 binary)
* Non-zeros:  42
* Format:     Free MPS
*
NAME american
ROWS
 N total_cost
 G balance[Youngstown]
 G balance[Pittsburgh]
 G balance[Cincinnati]
 G balance[KansasCity]
 G balance[Chicago]
 G balance[Albany]
 G balance[Houston]
 G balance[Tempe]
 G balance[Gary]
COLUMNS
 M0000001 'MARKER' 'INTORG'
 flow[Youngstown,Albany] total_cost 0.5 balance[Youngstown] -1
 flow[Youngstown,Albany] balance[Albany] 1
 flow[Youngstown,Cincinnati] total_cost 0.35 balance[Youngstown] -1
 flow[Youngstown,Cincinnati] balance[Cincinnati] 1
 flow[Youngstown,KansasCity] total_cost 0.45 balance[Youngstown] -1
 flow[Youngstown,KansasCity] balance[KansasCity] 1
 flow[Youngstown,Chicago] total_cost 0.375 balance[Youngstown] -1
 flow[Youngstown,Chicago] balance[Chicago] 1
 flow[Pittsburgh,Cincinnati] total_cost 0.35 balance[Pittsburgh] -1
 flow[Pittsburgh,Cincinnati] balance[Cincinnati] 1
 flow[Pittsburgh,KansasCity] total_cost 0.45 balance[Pittsburgh] -1
 flow[Pittsburgh,KansasCity] balance[KansasCity] 1
 flow[Pittsburgh,Chicago] total_cost 0.4 balance[Pittsburgh] -1
 flow[Pittsburgh,Chicago] balance[Chicago] 1
 flow[Pittsburgh,Gary] total_cost 0.45 balance[Pittsburgh] -1
 flow[Pittsburgh,Gary] balance[Gary] 1
 flow[Cincinnati,Albany] total_cost 0.35 balance[Cincinnati] -1
 flow[Cincinnati,Albany] balance[Albany] 1
 flow[Cincinnati,Houston] total_cost 0.55 balance[Cincinnati] -1
 flow[Cincinnati,Houston] balance[Houston] 1
 flow[KansasCity,Houston] total_cost 0.375 balance[KansasCity] -1
 flow[KansasCity,Houston] balance[Houston] 1
 flow[KansasCity,Tempe] total_cost 0.65 balance[KansasCity] -1
 flow[KansasCity,Tempe] balance[Tempe] 1
 flow[Chicago,Tempe] total_cost 0.6 balance[Chicago] -1
 flow[Chicago,Tempe] balance[Tempe] 1
 flow[Chicago,Gary] total_cost 0.12 balance[Chicago] -1
 flow[Chicago,Gary] balance[Gary] 1
 M0000002 'MARKER' 'INTEND'
RHS
 RHS1 balance[Youngstown] -10000 balance[Pittsburgh] -15000
 RHS1 balance[Albany] 3000 balance[Houston] 7000
 RHS1 balance[Tempe] 4000 balance[Gary] 6000
BOUNDS
 UP BND1 flow[Youngstown,Albany] 1000
 UP BND1 flow[Youngstown,Cincinnati] 3000
 LO BND1 flow[Youngstown,KansasCity] 1000
 UP BND1 flow[Youngstown,KansasCity] 5000
 UP BND1 flow[Youngstown,Chicago] 5000
 UP BND1 flow[Pittsburgh,Cincinnati] 2000
 LO BND1 flow[Pittsburgh,KansasCity] 2000
 UP BND1 flow[Pittsburgh,KansasCity] 3000
 UP BND1 flow[Pittsburgh,Chicago] 4000
 UP BND1 flow[Pittsburgh,Gary] 2000
 LO BND1 flow[Cincinnati,Albany] 1000
 UP BND1 flow[Cincinnati,Albany] 5000
 UP BND1 flow[Cincinnati,Houston] 6000
 UP BND1 flow[KansasCity,Houston] 4000
 UP BND1 flow[KansasCity,Tempe] 4000
 UP BND1 flow[Chicago,Tempe] 2000
 UP BND1 flow[Chicago,Gary] 4000
ENDATA
