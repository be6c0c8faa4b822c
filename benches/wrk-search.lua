-- wrk script for the HTTP load test in the README: the known-item queries the search bench
-- writes (pasted fragments and titles of the sample regulations), in rotation. The file is
-- named by GONGWEN_QUERIES (default target/bench-data/known-items.txt), one query per line.
local file = os.getenv("GONGWEN_QUERIES") or "target/bench-data/known-items.txt"
local function encode(s)
  return (s:gsub("[^%w]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
local paths = {}
for line in io.lines(file) do
  if #line > 0 then paths[#paths + 1] = "/api/search?q=" .. encode(line) .. "&limit=10" end
end
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
