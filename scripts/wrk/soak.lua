-- wrk script for `scripts/load.sh soak`: a mix of credentials, each with the status the server
-- must answer, and a count of the answers that differ.
--
-- CASES_FILE holds one request per line: `<expected status>\t<header name>\t<header value>`
-- (an empty name sends no credential); the value `@distinct` stands for `Bearer ` and the next
-- token of DISTINCT_FILE, where thread k of n takes lines k, k+n, ... and cycles through them.
-- load.sh runs one connection per thread, so each response answers the request this thread
-- sent last; thread k starts its walk through the cases at a different place. done() prints
-- "decisions: N wrong: W" and the first wrong ones.

local threads = {}
local next_id = 0

function setup(thread)
    thread:set("id", next_id)
    next_id = next_id + 1
    table.insert(threads, thread)
end

local function read_lines(variable)
    local path = os.getenv(variable)
    local file = path and io.open(path, "r")
    if not file then
        error(variable .. " is not a readable file: " .. tostring(path))
    end
    local lines = {}
    for line in file:lines() do
        lines[#lines + 1] = line
    end
    file:close()
    return lines, path
end

function init(args)
    local count = tonumber(os.getenv("WRK_THREADS"))
    distinct = {}
    for i, line in ipairs(read_lines("DISTINCT_FILE")) do
        if (i - 1) % count == id then
            distinct[#distinct + 1] = "Bearer " .. line
        end
    end
    distinct_position = 0
    cases = {}
    local lines, path = read_lines("CASES_FILE")
    for _, line in ipairs(lines) do
        local status, name, value = line:match("^(%d+)\t([^\t]*)\t(.*)$")
        if not status then
            error("bad line in " .. path .. ": " .. line)
        end
        local headers = {}
        if name ~= "" then
            headers[name] = value
        end
        cases[#cases + 1] = {
            expected = tonumber(status),
            name = name,
            -- Preformatted, but for @distinct, which differs on every use.
            request = value ~= "@distinct" and wrk.format(nil, nil, headers) or nil,
            label = name .. " " .. value:sub(1, 40),
        }
    end
    position = math.floor(#cases * id / count)
    expected = nil
    label = nil
    decisions = 0
    wrong = 0
    examples = ""
end

function request()
    position = position % #cases + 1
    local case = cases[position]
    expected = case.expected
    label = case.label
    if case.request then
        return case.request
    end
    distinct_position = distinct_position % #distinct + 1
    label = "distinct " .. distinct[distinct_position]:sub(1, 40)
    return wrk.format(nil, nil, { [case.name] = distinct[distinct_position] })
end

function response(status, headers, body)
    decisions = decisions + 1
    if status ~= expected then
        wrong = wrong + 1
        if wrong <= 5 then
            examples = examples .. string.format("  got %d, expected %d: %s\n", status, expected, label)
        end
    end
end

function done(summary, latency, requests)
    local all, bad, text = 0, 0, ""
    for _, thread in ipairs(threads) do
        all = all + (tonumber(thread:get("decisions")) or 0)
        bad = bad + (tonumber(thread:get("wrong")) or 0)
        text = text .. (thread:get("examples") or "")
    end
    io.write(string.format("decisions: %d wrong: %d\n", all, bad))
    io.write(text)
end
