// The visitor of lambdas for std::visit: Overloaded{[](A) {...}, [](B) {...}}.
#pragma once

namespace zferry {

template <class... F>
struct Overloaded : F... {
    using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace zferry
