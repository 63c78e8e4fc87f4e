// Ed25519 keys for checkpoints, through OpenSSL 3's EVP interface.
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "warden/audit.h"

namespace warden::audit {

namespace {

EVP_PKEY* AsKey(void* p) { return static_cast<EVP_PKEY*>(p); }

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool IsEd25519(EVP_PKEY* key) { return key && EVP_PKEY_get_id(key) == EVP_PKEY_ED25519; }

Status WriteNew(const std::string& path, std::string_view data, mode_t mode) {
  // O_EXCL: a key is never silently replaced; losing the old one would orphan its signatures.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return FailedPreconditionError(path + ": cannot create (exists already?)");
  const bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  ::close(fd);
  if (!ok) return InternalError(path + ": write failed");
  return OkStatus();
}

}  // namespace

StatusOr<std::shared_ptr<const Signer>> Signer::LoadPem(const std::string& path) {
  auto pem = ReadFile(path);
  if (!pem.ok()) return pem.status();
  BIO* bio = BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!IsEd25519(key)) {
    EVP_PKEY_free(key);
    return InvalidArgumentError(path + ": not a PEM Ed25519 private key");
  }
  return std::shared_ptr<const Signer>(new Signer(key));
}

Signer::~Signer() { EVP_PKEY_free(AsKey(pkey_)); }

StatusOr<std::string> Signer::Sign(std::string_view data) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string sig(64, '\0');
  size_t len = sig.size();
  const bool ok =
      ctx && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, AsKey(pkey_)) == 1 &&
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok || len != 64) return InternalError("Ed25519 signing failed");
  return sig;
}

std::string Signer::PublicKeyPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, AsKey(pkey_));
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, n > 0 ? n : 0);
  BIO_free(bio);
  return out;
}

StatusOr<std::shared_ptr<const PublicKey>> PublicKey::FromPem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  if (!key) {
    // Accept the private key file too: it is what an operator holding the key has at hand.
    BIO_free(bio);
    bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  }
  BIO_free(bio);
  if (!IsEd25519(key)) {
    EVP_PKEY_free(key);
    return InvalidArgumentError("not a PEM Ed25519 public key");
  }
  return std::shared_ptr<const PublicKey>(new PublicKey(key));
}

StatusOr<std::shared_ptr<const PublicKey>> PublicKey::LoadPem(const std::string& path) {
  auto pem = ReadFile(path);
  if (!pem.ok()) return pem.status();
  auto key = FromPem(*pem);
  if (!key.ok()) return InvalidArgumentError(path + ": " + key.status().message());
  return key;
}

PublicKey::~PublicKey() { EVP_PKEY_free(AsKey(pkey_)); }

bool PublicKey::Verify(std::string_view data, std::string_view signature) const {
  if (signature.size() != 64) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, AsKey(pkey_)) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                       data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

Status GenerateKeyPair(const std::string& private_path, const std::string& public_path) {
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
  const bool ok = ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &key) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok) return InternalError("Ed25519 key generation failed");
  auto to_pem = [key](bool priv) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (priv) {
      PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    } else {
      PEM_write_bio_PUBKEY(bio, key);
    }
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, n > 0 ? n : 0);
    BIO_free(bio);
    return out;
  };
  const std::string priv = to_pem(true), pub = to_pem(false);
  EVP_PKEY_free(key);
  if (Status s = WriteNew(private_path, priv, 0600); !s.ok()) return s;
  return WriteNew(public_path, pub, 0644);
}

}  // namespace warden::audit
