#include "support/mosquitto_client.hpp"

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <stdexcept>

#include "support/broker_process.hpp"

namespace petrel::test {
namespace {

void init_library() {
    struct Library {
        Library() { mosquitto_lib_init(); }
        ~Library() { mosquitto_lib_cleanup(); }
    };
    static Library library;
}

MosquittoClient& self(void* user_data) {
    return *static_cast<MosquittoClient*>(user_data);
}

void connect_callback(::mosquitto*, void* user_data, int reason, int flags,
                      const mosquitto_property*) {
    self(user_data).on_connect(reason, flags);
}

void disconnect_callback(::mosquitto* handle, void* user_data, int reason,
                         const mosquitto_property*) {
    // Marking the client as disconnecting stops libmosquitto's loop from reconnecting.
    mosquitto_disconnect(handle);
    self(user_data).on_disconnect(reason);
}

void message_callback(::mosquitto*, void* user_data, const mosquitto_message* message,
                      const mosquitto_property*) {
    ReceivedMessage received;
    received.topic = message->topic != nullptr ? message->topic : "";
    if (message->payloadlen > 0) {
        received.payload.assign(static_cast<const char*>(message->payload),
                                static_cast<std::size_t>(message->payloadlen));
    }
    received.qos = message->qos;
    received.retain = message->retain;
    received.mid = message->mid;
    self(user_data).on_message(std::move(received));
}

void publish_callback(::mosquitto*, void* user_data, int mid, int, const mosquitto_property*) {
    self(user_data).on_publish(mid);
}

void subscribe_callback(::mosquitto*, void* user_data, int mid, int count, const int* granted,
                        const mosquitto_property*) {
    self(user_data).on_subscribe(mid, std::vector<int>(granted, granted + count));
}

void unsubscribe_callback(::mosquitto*, void* user_data, int mid, const mosquitto_property*) {
    self(user_data).on_unsubscribe(mid);
}

}  // namespace

MosquittoClient::MosquittoClient(MosquittoOptions options) : options_(std::move(options)) {
    init_library();
    ignore_sigpipe();
    const char* id = options_.client_id.empty() ? nullptr : options_.client_id.c_str();
    handle_ = mosquitto_new(id, options_.clean_session, this);
    if (handle_ == nullptr) {
        throw std::runtime_error("mosquitto_new failed (a persistent session needs a client id)");
    }
    mosquitto_int_option(handle_, MOSQ_OPT_PROTOCOL_VERSION,
                         options_.v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    mosquitto_connect_v5_callback_set(handle_, connect_callback);
    mosquitto_disconnect_v5_callback_set(handle_, disconnect_callback);
    mosquitto_message_v5_callback_set(handle_, message_callback);
    mosquitto_publish_v5_callback_set(handle_, publish_callback);
    mosquitto_subscribe_v5_callback_set(handle_, subscribe_callback);
    mosquitto_unsubscribe_v5_callback_set(handle_, unsubscribe_callback);
    if (options_.will) {
        const auto& will = *options_.will;
        mosquitto_will_set(handle_, will.topic.c_str(), static_cast<int>(will.payload.size()),
                           will.payload.data(), will.qos, will.retain);
    }
    if (options_.username) {
        mosquitto_username_pw_set(handle_, options_.username->c_str(),
                                  options_.password ? options_.password->c_str() : nullptr);
    }
}

MosquittoClient::~MosquittoClient() {
    if (connected()) {
        mosquitto_disconnect(handle_);
    }
    stop_loop();
    mosquitto_destroy(handle_);
}

void MosquittoClient::stop_loop() {
    if (loop_running_) {
        // The loop thread ends once the client is marked as disconnecting, which both
        // disconnect() and the disconnect callback do.
        mosquitto_disconnect(handle_);
        mosquitto_loop_stop(handle_, false);
        loop_running_ = false;
    }
}

int MosquittoClient::connect(std::uint16_t port, std::chrono::milliseconds timeout) {
    stop_loop();
    {
        std::lock_guard lock(mutex_);
        connack_reason_.reset();
        connected_ = false;
        disconnected_ = false;
        session_present_ = false;
    }
    mosquitto_property* properties = nullptr;
    if (options_.v5 && options_.session_expiry > 0) {
        mosquitto_property_add_int32(&properties, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                     options_.session_expiry);
    }
    const int rc = mosquitto_connect_bind_v5(handle_, kLoopback, static_cast<int>(port),
                                             options_.keep_alive, nullptr, properties);
    mosquitto_property_free_all(&properties);
    if (rc != MOSQ_ERR_SUCCESS) {
        return -1;
    }
    if (mosquitto_loop_start(handle_) != MOSQ_ERR_SUCCESS) {
        return -1;
    }
    loop_running_ = true;
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return connack_reason_ || disconnected_; });
    return connack_reason_.value_or(-1);
}

bool MosquittoClient::connected() const {
    std::lock_guard lock(mutex_);
    return connected_;
}

bool MosquittoClient::session_present() const {
    std::lock_guard lock(mutex_);
    return session_present_;
}

void MosquittoClient::disconnect() {
    mosquitto_disconnect(handle_);
    stop_loop();
    std::lock_guard lock(mutex_);
    connected_ = false;
}

bool MosquittoClient::wait_disconnected(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return disconnected_; });
}

int MosquittoClient::disconnect_reason() const {
    std::lock_guard lock(mutex_);
    return disconnect_reason_;
}

std::optional<std::vector<int>> MosquittoClient::subscribe(const std::string& filter, int qos,
                                                           std::chrono::milliseconds timeout) {
    int mid = 0;
    if (mosquitto_subscribe(handle_, &mid, filter.c_str(), qos) != MOSQ_ERR_SUCCESS) {
        return std::nullopt;
    }
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, timeout, [&] { return subacks_.contains(mid); })) {
        return std::nullopt;
    }
    return subacks_.at(mid);
}

bool MosquittoClient::unsubscribe(const std::string& filter, std::chrono::milliseconds timeout) {
    int mid = 0;
    if (mosquitto_unsubscribe(handle_, &mid, filter.c_str()) != MOSQ_ERR_SUCCESS) {
        return false;
    }
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return unsubacks_.contains(mid); });
}

int MosquittoClient::publish(const std::string& topic, const std::string& payload, int qos,
                             bool retain) {
    int mid = 0;
    const int rc = mosquitto_publish(handle_, &mid, topic.c_str(), static_cast<int>(payload.size()),
                                     payload.data(), qos, retain);
    return rc == MOSQ_ERR_SUCCESS ? mid : -1;
}

bool MosquittoClient::wait_published(int mid, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return published_.contains(mid); });
}

bool MosquittoClient::wait_for(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return messages_.size() >= count; });
}

std::vector<ReceivedMessage> MosquittoClient::messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
}

std::size_t MosquittoClient::message_count() const {
    std::lock_guard lock(mutex_);
    return messages_.size();
}

void MosquittoClient::clear_messages() {
    std::lock_guard lock(mutex_);
    messages_.clear();
}

void MosquittoClient::on_connect(int reason, int flags) {
    std::lock_guard lock(mutex_);
    connack_reason_ = reason;
    connected_ = reason == 0;
    session_present_ = (flags & 1) != 0;
    changed_.notify_all();
}

void MosquittoClient::on_disconnect(int reason) {
    std::lock_guard lock(mutex_);
    connected_ = false;
    disconnected_ = true;
    disconnect_reason_ = reason;
    changed_.notify_all();
}

void MosquittoClient::on_message(ReceivedMessage message) {
    std::lock_guard lock(mutex_);
    messages_.push_back(std::move(message));
    changed_.notify_all();
}

void MosquittoClient::on_publish(int mid) {
    std::lock_guard lock(mutex_);
    published_.insert(mid);
    changed_.notify_all();
}

void MosquittoClient::on_subscribe(int mid, std::vector<int> granted) {
    std::lock_guard lock(mutex_);
    subacks_[mid] = std::move(granted);
    changed_.notify_all();
}

void MosquittoClient::on_unsubscribe(int mid) {
    std::lock_guard lock(mutex_);
    unsubacks_.insert(mid);
    changed_.notify_all();
}

}  // namespace petrel::test
