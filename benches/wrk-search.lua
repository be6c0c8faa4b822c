-- wrk script for the HTTP load test in the README: ten 1-3 word queries in rotation.
local queries = {"条例", "人民政府", "监督", "环境 保护", "法律 责任", "安全 生产", "代表 大会 常务委员会", "城市 规划 管理", "行政 处罚", "知识 产权"}
local function encode(s)
  return (s:gsub("[^%w]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
local paths = {}
for i, q in ipairs(queries) do paths[i] = "/api/search?q=" .. encode(q) .. "&limit=10" end
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
