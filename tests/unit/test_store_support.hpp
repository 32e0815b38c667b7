// test_store_support.hpp - what the store tests share: a temporary directory, and a private
// PostgreSQL cluster (initdb + pg_ctl in a temporary directory, 127.0.0.1 on a free port) that the
// first PostgreSQL test starts and the end of the run stops. As root, the cluster runs as the
// `postgres` user (runuser), since PostgreSQL refuses to run as root.
#pragma once

#include <string>

namespace bg::testing_support {

// A fresh directory under $TMPDIR (or /tmp), removed with its content when the object goes.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
};

// Runs a shell command; returns its exit status (-1 when it could not run).
int run(const std::string& command);

class PgCluster {
public:
    // The cluster of this test run, started on first use. ok() false: error() says why.
    static PgCluster& instance();
    bool ok() const noexcept { return ok_; }
    const std::string& error() const noexcept { return error_; }
    int port() const noexcept { return port_; }

    // Creates an empty database and returns its URI (postgresql://bg@127.0.0.1:PORT/NAME).
    std::string create_database();
    // SQL through psql as the superuser, on database db; returns the exit status.
    int psql(const std::string& db, const std::string& sql);
    // Stops (immediate) and starts the server again; false on failure.
    bool stop();
    bool start();
    void shutdown();  // stop and remove the directory (called at the end of the run)

private:
    PgCluster();
    std::string as_owner(const std::string& command) const;
    bool ok_ = false;
    std::string error_;
    std::string dir_;
    int port_ = 0;
    int next_db_ = 0;
};

}  // namespace bg::testing_support
