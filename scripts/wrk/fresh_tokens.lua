-- wrk script for scripts/load.sh: every request carries a token never sent before in the run.
--
-- TOKENS_FILE names a file of pre-minted tokens, one per line; thread k of n takes lines k, k+n,
-- k+2n, ... so that no two threads send the same token. A thread that runs out starts its slice
-- again and counts a wrap; done() prints "token wraps: N". (load.sh checks the cache-on case by
-- the server's hit counter.) OFFSET (default 0) skips the file's first OFFSET lines, so that
-- successive runs against one server can each start on tokens it has never seen.

local threads = {}
local next_id = 0

function setup(thread)
    thread:set("id", next_id)
    next_id = next_id + 1
    table.insert(threads, thread)
end

function init(args)
    local path = os.getenv("TOKENS_FILE")
    local file = path and io.open(path, "r")
    if not file then
        error("TOKENS_FILE is not a readable file: " .. tostring(path))
    end
    local count = tonumber(os.getenv("WRK_THREADS"))
    local offset = tonumber(os.getenv("OFFSET") or "0")
    tokens = {}
    local line_number = 0
    for line in file:lines() do
        if line_number >= offset and (line_number - offset) % count == id then
            tokens[#tokens + 1] = "Bearer " .. line
        end
        line_number = line_number + 1
    end
    file:close()
    if #tokens == 0 then
        error("no token for thread " .. id .. " in " .. path)
    end
    position = 0
    wraps = 0
end

function request()
    position = position + 1
    if position > #tokens then
        position = 1
        wraps = wraps + 1
    end
    return wrk.format(nil, nil, { ["Authorization"] = tokens[position] })
end

function done(summary, latency, requests)
    local total = 0
    for _, thread in ipairs(threads) do
        total = total + (tonumber(thread:get("wraps")) or 0)
    end
    io.write(string.format("token wraps: %d\n", total))
end
